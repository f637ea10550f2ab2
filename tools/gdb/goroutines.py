# goroutines.py - gdb commands for libgoroutine programs.
#
#   (gdb) source tools/gdb/goroutines.py
#   (gdb) info goroutines          # every live goroutine: id, state, name
#   (gdb) goroutine 17 bt          # backtrace of goroutine 17
#
# Works on a live process built with debug info (x86-64 assembly switch).
# A parked goroutine's registers sit on its own stack, in the frame that
# ctx_switch pushed (src/arch/context.h: rbp at +48, return address at +56
# from the saved stack pointer). "goroutine N bt" points the selected
# thread's registers at that frame, prints the backtrace and puts them back.
# A running goroutine is shown by "thread apply all bt" instead.

import gdb

STATUS = {0: "idle", 1: "runnable", 2: "running", 3: "waiting", 4: "dead"}
REASONS = None


def all_goroutines():
    g = gdb.parse_and_eval("proc_allg_first()")
    while int(g) != 0:
        yield g
        g = g["allnext"]


def reason_name(r):
    try:
        return gdb.parse_and_eval("wait_reason_name(%d)" % r).string()
    except gdb.error:
        return "waiting"


class InfoGoroutines(gdb.Command):
    """List live goroutines: info goroutines"""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        n = 0
        for g in all_goroutines():
            st = int(g["status"])
            if st in (0, 4):
                continue
            state = reason_name(int(g["waitreason"])) if st == 3 else STATUS.get(st, "?")
            name = g["name"].string()
            print("goroutine %d [%s]%s" % (int(g["id"]), state, "  " + name if name else ""))
            n += 1
        print("%d goroutines" % n)


class GoroutineCmd(gdb.Command):
    """goroutine ID bt: backtrace of a parked goroutine"""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        args = arg.split()
        if len(args) != 2 or args[1] != "bt":
            raise gdb.GdbError("usage: goroutine ID bt")
        want = int(args[0])
        for g in all_goroutines():
            if int(g["id"]) != want:
                continue
            if int(g["status"]) == 2:
                print("goroutine %d is running: see 'thread apply all bt'" % want)
                return
            sp = int(g["ctx"]["sp"])
            u64 = gdb.lookup_type("unsigned long").pointer()
            rbp = int(gdb.Value(sp + 48).cast(u64).dereference())
            rip = int(gdb.Value(sp + 56).cast(u64).dereference())
            saved = [int(gdb.parse_and_eval(r)) for r in ("$sp", "$pc", "$rbp")]
            try:
                gdb.execute("set $sp = %d" % (sp + 64))
                gdb.execute("set $rbp = %d" % rbp)
                gdb.execute("set $pc = %d" % rip)
                gdb.execute("bt")
            finally:
                gdb.execute("set $sp = %d" % saved[0])
                gdb.execute("set $pc = %d" % saved[1])
                gdb.execute("set $rbp = %d" % saved[2])
            return
        raise gdb.GdbError("no goroutine %d" % want)


InfoGoroutines()
GoroutineCmd()
