# goroutine-gdb.py - gdb commands for programs using libgoroutine.
#
#   (gdb) source PREFIX/share/libgoroutine/gdb/goroutine-gdb.py
#   (gdb) info goroutines       # id, state/wait reason, where it is blocked, creator
#   (gdb) goroutine 17 bt       # backtrace of goroutine 17
#
# It only reads the inferior's memory: no function of the program is
# called and no register is written, so it works on a live process and on
# a core file (gcore, or a crash) alike, for the static and the shared
# library, provided libgoroutine's debug info is present (the default
# RelWithDebInfo build has it).
#
# How: the all-G list is the static `allg` in proc.c. A parked goroutine's
# registers sit on its own stack, in the frame mctx_switch pushed
# (src/arch/context.h: on x86-64, r15 at +8, r14 +16, r13 +24, r12 +32,
# rbx +40, rbp +48 and the return address at +56 from the saved stack
# pointer, which is 64 bytes below the caller's). "goroutine N bt" installs
# a frame unwinder that claims the selected thread's innermost frame and
# says its caller is the goroutine's resume point with those registers;
# gdb's own DWARF unwinder takes it from there, so frames of code built
# without frame pointers unwind too. The unwinder is active only while the
# command runs.

import os

import gdb
from gdb.unwinder import Unwinder, register_unwinder

STATUS = {0: "idle", 1: "runnable", 2: "running", 3: "waiting", 4: "dead"}
G_RUNNING, G_WAITING, G_IDLE, G_DEAD = 2, 3, 0, 4
CTX = {"r15": 8, "r14": 16, "r13": 24, "r12": 32, "rbx": 40, "rbp": 48}
CTX_RIP, CTX_FRAME = 56, 64


def _static(name):
    sym = gdb.lookup_static_symbol(name)
    if sym is None:
        sym = gdb.lookup_global_symbol(name)
    if sym is None:
        raise gdb.GdbError("libgoroutine symbol '%s' not found: is its debug info loaded?" % name)
    return sym.value()


def all_goroutines():
    g = _static("allg")
    while int(g) != 0:
        yield g
        g = g["allnext"]


def reason_name(r):
    try:
        names = _static("reason_names")
        p = names[r]
        if int(p) != 0:
            return p.string()
    except (gdb.error, gdb.GdbError, IndexError):
        pass
    return "waiting"


def _u64(addr):
    return int(gdb.Value(addr).cast(gdb.lookup_type("unsigned long").pointer()).dereference())


def in_syscall(g):
    m = g["m"]
    return int(m) != 0 and int(m["curg"]) == int(g.address if g.address else 0) and int(m["oldp"]) != 0


def state(g):
    st = int(g["status"])
    if st == G_WAITING:
        return reason_name(int(g["waitreason"]))
    if st == G_RUNNING and int(g["m"]) != 0 and int(g["m"]["oldp"]) != 0:
        return "syscall"
    return STATUS.get(st, "?")


def where(pc, ret=True):
    """'function at file:line' for a code address (a return address if ret)."""
    q = pc - 1 if ret else pc
    name = None
    try:
        blk = gdb.block_for_pc(q)
        while blk is not None and blk.function is None:
            blk = blk.superblock
        if blk is not None:
            name = blk.function.print_name
    except RuntimeError:
        pass
    if name is None:
        m = gdb.execute("info symbol %d" % q, to_string=True)
        name = m.split(" in ")[0].split(" + ")[0].strip() if "No symbol" not in m else "0x%x" % pc
    sal = gdb.find_pc_line(q)
    if sal.symtab is not None:
        return "%s at %s:%d" % (name, sal.symtab.filename, sal.line)
    return name


# ---- unwinding a parked goroutine -----------------------------------------

class _FrameId(object):
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class GoroutineUnwinder(Unwinder):
    """Claims the innermost frame while `regs` is set: its caller is the
    goroutine's saved context."""

    def __init__(self):
        super(GoroutineUnwinder, self).__init__("libgoroutine")
        self.regs = None

    def __call__(self, pending):
        if self.regs is None or pending.level() != 0:
            return None
        sp = pending.read_register("rsp")
        pc = pending.read_register("rip")
        info = pending.create_unwind_info(_FrameId(sp, pc))
        for name, val in self.regs.items():
            info.add_saved_register(name, gdb.Value(val).cast(pending.read_register(name).type))
        return info


_unwinder = GoroutineUnwinder()
register_unwinder(None, _unwinder, replace=True)


def saved_regs(g):
    sp = int(g["ctx"]["sp"])
    regs = {name: _u64(sp + off) for name, off in CTX.items()}
    regs["rip"] = _u64(sp + CTX_RIP)
    regs["rsp"] = sp + CTX_FRAME
    return regs


def goroutine_frames(g, limit=64):
    """[(pc, description)] of a parked goroutine, from its saved registers."""
    if gdb.selected_thread() is None:
        raise gdb.GdbError("no thread selected (is the program running, or a core loaded?)")
    out = []
    _unwinder.regs = saved_regs(g)
    gdb.invalidate_cached_frames()
    try:
        f = gdb.newest_frame().older()
        while f is not None and len(out) < limit:
            pc = f.pc()
            sal = f.find_sal()
            name = f.name() or ("0x%x" % pc)
            loc = "%s:%d" % (sal.symtab.filename, sal.line) if sal.symtab else "?"
            out.append((pc, name, loc, sal.symtab.fullname() if sal.symtab else None))
            f = f.older()
    finally:
        _unwinder.regs = None
        gdb.invalidate_cached_frames()
    return out


_rtdir = None


def runtime_dir():
    """The directory of libgoroutine's sources, from where allg is defined."""
    global _rtdir
    if _rtdir is None:
        sym = gdb.lookup_static_symbol("allg")
        _rtdir = os.path.dirname(sym.symtab.fullname()) if sym is not None else ""
    return _rtdir


def runtime_frame(f):
    """A frame inside the runtime, other than its public go_* calls."""
    pc, name, loc, path = f
    if name.startswith("go_"):
        return False
    d = runtime_dir()
    return bool(d) and path is not None and (os.path.dirname(path) in (d, os.path.join(d, "arch")))


def find(want):
    for g in all_goroutines():
        if int(g["id"]) == want and int(g["status"]) not in (G_IDLE, G_DEAD):
            return g
    return None


class InfoGoroutines(gdb.Command):
    """List live goroutines: id, state, the function each is blocked in, its creator."""

    def __init__(self):
        super(InfoGoroutines, self).__init__("info goroutines", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        n = 0
        for g in all_goroutines():
            st = int(g["status"])
            if st in (G_IDLE, G_DEAD):
                continue
            n += 1
            line = "goroutine %d [%s]" % (int(g["id"]), state(g))
            name = g["name"].string()
            if name:
                line += " \"%s\"" % name
            if st != G_RUNNING:
                try:
                    frames = goroutine_frames(g, limit=16)
                    user = [f for f in frames if not runtime_frame(f) and
                            not f[1].startswith("go_")]
                    api = [f for f in frames if f[1].startswith("go_")]
                    if user:
                        line += " in %s (%s)" % (user[0][1], user[0][2])
                    if api:
                        line += " calling %s" % api[0][1]
                except gdb.error as e:
                    line += " (cannot unwind: %s)" % e
            else:
                m = g["m"]
                line += " on thread LWP %d" % int(m["tid"]) if int(m) != 0 else ""
            pc = int(g["created_pc"])
            if pc:
                line += ", created by " + where(pc)
                if int(g["parent_id"]) > 0:
                    line += " in goroutine %d" % int(g["parent_id"])
            print(line)
        print("%d goroutines" % n)


class GoroutineCmd(gdb.Command):
    """goroutine ID bt: backtrace of goroutine ID from its saved registers."""

    def __init__(self):
        super(GoroutineCmd, self).__init__("goroutine", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        args = arg.split()
        if len(args) != 2 or args[1] != "bt":
            raise gdb.GdbError("usage: goroutine ID bt")
        g = find(int(args[0]))
        if g is None:
            raise gdb.GdbError("no goroutine %s" % args[0])
        if int(g["status"]) == G_RUNNING:
            m = g["m"]
            tid = int(m["tid"]) if int(m) != 0 else 0
            print("goroutine %s is running on thread LWP %d: select that thread and use 'bt'"
                  % (args[0], tid))
            return
        print("goroutine %d [%s]:" % (int(g["id"]), state(g)))
        for i, (pc, name, loc, _) in enumerate(goroutine_frames(g)):
            print("#%-3d 0x%016x in %s () at %s" % (i, pc, name, loc))
        pc = int(g["created_pc"])
        if pc:
            print("created by " + where(pc) +
                  (" in goroutine %d" % int(g["parent_id"]) if int(g["parent_id"]) > 0 else ""))


InfoGoroutines()
GoroutineCmd()
