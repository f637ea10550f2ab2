/*
 * traceback.c - a goroutine's backtrace, from its saved context, with
 * function names and file:line, for the dumps (debug.c).
 *
 * Two jobs, two libraries, both optional and detected by CMake:
 *
 *  - Unwinding. A parked goroutine is not a thread: its registers sit in
 *    the frame mctx_switch pushed on its own stack (arch/context.h), so we
 *    need an unwinder that starts from registers we hand it. libunwind's
 *    local unwinder does (unw_init_local on a ucontext we fill from that
 *    frame), follows the .eh_frame CFI that gcc emits at every -O level
 *    (so programs built with plain -O1, which omits frame pointers, unwind
 *    too), handles signal frames, and its local calls are documented as
 *    async-signal-safe. Without libunwind we walk frame pointers, which
 *    works only for code built with -fno-omit-frame-pointer.
 *
 *  - Names. GCC's libbacktrace (shipped with gcc itself: libgcc-N-dev has
 *    backtrace.h and libbacktrace.a) reads the DWARF line tables and the
 *    ELF symbol table of the program and of every loaded library, so a
 *    program built with plain `gcc -g -O1`, without -rdynamic, gets its
 *    static functions, inlined calls and file:line. It allocates with
 *    mmap, not malloc, and is documented as usable from a signal handler.
 *    Without it we use libunwind's own names (ELF symbol table, static
 *    functions included, no lines), and failing that dladdr (exported
 *    symbols only).
 *
 * Rejected: libdw (elfutils) names and unwinds well, but allocates with
 *    malloc throughout (not from a signal handler, nor with the malloc lock
 *    held by a dying thread) and its unwinder is built for ptrace and core
 *    files; a hand-written DWARF reader is what these libraries are for;
 *    backtrace(3) unwinds only the calling thread.
 *
 * Reading a parked goroutine's stack races with its being resumed by
 * another M. The dump re-checks the goroutine's saved stack pointer after
 * unwinding and drops the frames if it moved; a wild read while it ran
 * faults into stack.c's SIGSEGV handler, which jumps back here
 * (debug_probe_fault) instead of dying. Stacks are never unmapped while the
 * goroutine is on the all-G list, except custom-size ones at exit.
 */
#include "traceback.h"

#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef GO_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
/* libunwind is opened at start-up (tb_init) rather than linked: Debian's
 * static libunwind.a is not position-independent, so a program linking
 * the static libgoroutine could not link it, and a program whose system
 * lacks libunwind.so.8 still runs (with frame-pointer backtraces). */
#define XSTR(x) STR(x)
#define STR(x) #x
static struct {
    int (*init_local)(unw_cursor_t *, unw_context_t *);
    int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
    int (*step)(unw_cursor_t *);
    int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
    int (*get_proc_name)(unw_cursor_t *, char *, size_t, unw_word_t *);
} uw;
static bool have_uw;

static void open_libunwind(void)
{
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        h = dlopen("libunwind.so", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    *(void **)&uw.init_local = dlsym(h, XSTR(unw_init_local));
    *(void **)&uw.init_local2 = dlsym(h, XSTR(unw_init_local2));
    *(void **)&uw.step = dlsym(h, XSTR(unw_step));
    *(void **)&uw.get_reg = dlsym(h, XSTR(unw_get_reg));
    *(void **)&uw.get_proc_name = dlsym(h, XSTR(unw_get_proc_name));
    have_uw = uw.init_local && uw.init_local2 && uw.step && uw.get_reg && uw.get_proc_name;
}
#undef unw_init_local
#undef unw_init_local2
#undef unw_step
#undef unw_get_reg
#undef unw_get_proc_name
#define unw_init_local uw.init_local
#define unw_init_local2 uw.init_local2
#define unw_step uw.step
#define unw_get_reg uw.get_reg
#define unw_get_proc_name uw.get_proc_name
#endif
#ifdef GO_HAVE_LIBBACKTRACE
#include GO_BACKTRACE_H
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_SANITIZE __attribute__((no_sanitize("address", "thread")))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NO_SANITIZE __attribute__((no_sanitize("address", "thread")))
#endif
#endif
#ifndef NO_SANITIZE
#define NO_SANITIZE
#endif

/* ---- output -------------------------------------------------------------- */

void dbg_flush(dbg_out_t *o)
{
    size_t off = 0;
    while (o->fd >= 0 && off < o->n) {
        ssize_t r = write(o->fd, o->buf + off, o->n - off);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    o->n = 0;
}

void dbg_puts(dbg_out_t *o, const char *s)
{
    while (*s) {
        if (o->n == sizeof o->buf)
            dbg_flush(o);
        o->buf[o->n++] = *s++;
    }
}

void dbg_putu(dbg_out_t *o, uint64_t v)
{
    char s[24];
    int i = (int)sizeof s - 1;
    s[i] = 0;
    do {
        s[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    dbg_puts(o, s + i);
}

void dbg_putx(dbg_out_t *o, uintptr_t v)
{
    char s[19] = "0x";
    int i = 2;
    for (int sh = 60; sh >= 0; sh -= 4) {
        unsigned d = (v >> sh) & 15;
        if (i > 2 || d || sh == 0)
            s[i++] = "0123456789abcdef"[d];
    }
    s[i] = 0;
    dbg_puts(o, s);
}

/* ---- the runtime's own code ------------------------------------------------ */

extern char gort_text_begin[] __attribute__((weak));
extern char gort_text_end[] __attribute__((weak));

#define MAX_RANGES 8
static uintptr_t rt_lo[MAX_RANGES], rt_hi[MAX_RANGES];
static int nrt;
static int inited;

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t me = (uintptr_t)data;
    int n = 0;
    uintptr_t lo[MAX_RANGES], hi[MAX_RANGES];
    bool mine = false;
    for (int i = 0; i < info->dlpi_phnum && n < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            lo[n] = info->dlpi_addr + ph->p_vaddr;
            hi[n] = lo[n] + ph->p_memsz;
            if (me >= lo[n] && me < hi[n])
                mine = true;
            n++;
        }
    }
    if (!mine)
        return 0;
    for (int i = 0; i < n; i++) {
        rt_lo[i] = lo[i];
        rt_hi[i] = hi[i];
    }
    nrt = n;
    return 1;
}

#ifdef GO_HAVE_LIBBACKTRACE
static struct backtrace_state *bt_state;

static void bt_error(void *data, const char *msg, int errnum)
{
    (void)data;
    (void)msg;
    (void)errnum;
}
#endif

void tb_init(void)
{
    if (__atomic_load_n(&inited, __ATOMIC_ACQUIRE))
        return;
    if (gort_text_begin) {
        /* Static library: our objects were pre-linked between markers. */
        rt_lo[0] = (uintptr_t)gort_text_begin;
        rt_hi[0] = (uintptr_t)gort_text_end;
        nrt = 1;
    } else {
        /* Shared library: our object's executable segments. */
        dl_iterate_phdr(find_self, (void *)(uintptr_t)&tb_init);
    }
#ifdef GO_HAVE_LIBBACKTRACE
    bt_state = backtrace_create_state(NULL, 1, bt_error, NULL);
#endif
#ifdef GO_HAVE_LIBUNWIND
    open_libunwind();
#endif
    __atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
}

bool tb_in_runtime(uintptr_t pc)
{
    for (int i = 0; i < nrt; i++)
        if (pc >= rt_lo[i] && pc < rt_hi[i])
            return true;
    return false;
}

/* ---- unwinding ----------------------------------------------------------------- */

/* A word of another goroutine's stack: the sanitizers must not check it
 * (ASan would take a dead frame's redzone for a bug). */
NO_SANITIZE static uintptr_t peek(uintptr_t addr)
{
    return *(volatile uintptr_t *)addr;
}

#ifdef GO_HAVE_LIBUNWIND
static int walk(unw_cursor_t *c, tb_frame_t *f, int max, bool first_exact)
{
    int n = 0;
    do {
        unw_word_t ip = 0;
        if (unw_get_reg(c, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        f[n].pc = (uintptr_t)ip;
        f[n].exact = n == 0 && first_exact;
        f[n].name[0] = 0;
        f[n].off = 0;
#ifndef GO_HAVE_LIBBACKTRACE
        unw_word_t off = 0;
        if (unw_get_proc_name(c, f[n].name, TB_NAME_MAX, &off) == 0)
            f[n].off = (uintptr_t)off;
        else
            f[n].name[0] = 0;
#endif
        n++;
    } while (n < max && unw_step(c) > 0);
    return n;
}
#endif

/* Frame-pointer walk from (pc, fp), bounded to the stack [lo, hi). */
__attribute__((unused)) static int fp_walk(uintptr_t pc, uintptr_t fp, uintptr_t lo, uintptr_t hi, tb_frame_t *f,
                   int max, bool first_exact)
{
    int n = 0;
    while (n < max && pc) {
        f[n].pc = pc;
        f[n].exact = n == 0 && first_exact;
        f[n].name[0] = 0;
        f[n].off = 0;
        n++;
        if (fp < lo || fp + 16 > hi || (fp & 7))
            break;
        uintptr_t next = peek(fp);
        pc = peek(fp + 8);
        if (next <= fp)
            break;
        fp = next;
    }
    return n;
}

NO_SANITIZE int tb_unwind_saved(const mctx_t *ctx, uintptr_t lo, uintptr_t hi, tb_frame_t *f,
                                int max)
{
#if defined(GO_CONTEXT_ASM) && defined(__x86_64__)
    uintptr_t sp = (uintptr_t)ctx->sp;
    if (sp < lo || sp + CTX_X86_FRAME > hi)
        return 0;
    uintptr_t rip = peek(sp + CTX_X86_RIP);
    uintptr_t rbp = peek(sp + CTX_X86_RBP);
#ifdef GO_HAVE_LIBUNWIND
    if (!have_uw)
        return fp_walk(rip, rbp, lo, hi, f, max, false);
    ucontext_t uc;
    memset(&uc, 0, sizeof uc);
    greg_t *r = uc.uc_mcontext.gregs;
    r[REG_RIP] = (greg_t)rip;
    r[REG_RSP] = (greg_t)(sp + CTX_X86_FRAME);
    r[REG_RBP] = (greg_t)rbp;
    r[REG_RBX] = (greg_t)peek(sp + CTX_X86_RBX);
    r[REG_R12] = (greg_t)peek(sp + CTX_X86_R12);
    r[REG_R13] = (greg_t)peek(sp + CTX_X86_R13);
    r[REG_R14] = (greg_t)peek(sp + CTX_X86_R14);
    r[REG_R15] = (greg_t)peek(sp + CTX_X86_R15);
    unw_cursor_t c;
    if (unw_init_local(&c, &uc) < 0)
        return 0;
    return walk(&c, f, max, false);
#else
    return fp_walk(rip, rbp, lo, hi, f, max, false);
#endif
#elif defined(GO_CONTEXT_ASM) && defined(__aarch64__)
    uintptr_t sp = (uintptr_t)ctx->sp;
    if (sp < lo || sp + CTX_A64_FRAME > hi)
        return 0;
    return fp_walk(peek(sp + CTX_A64_X30), peek(sp + CTX_A64_X29), lo, hi, f, max, false);
#else
    /* ucontext build: the saved context is a ucontext_t already. */
#ifdef GO_HAVE_LIBUNWIND
    (void)lo;
    (void)hi;
    if (!have_uw)
        return 0;
    ucontext_t uc = ctx->uc;
    unw_cursor_t c;
    if (unw_init_local(&c, &uc) < 0)
        return 0;
    return walk(&c, f, max, false);
#else
#if defined(__x86_64__)
    return fp_walk((uintptr_t)ctx->uc.uc_mcontext.gregs[REG_RIP],
                   (uintptr_t)ctx->uc.uc_mcontext.gregs[REG_RBP], lo, hi, f, max, false);
#else
    (void)ctx; (void)lo; (void)hi; (void)f; (void)max;
    return 0;
#endif
#endif
#endif
}

__attribute__((noinline)) int tb_unwind_here(void *ucv, tb_frame_t *f, int max)
{
#ifdef GO_HAVE_LIBUNWIND
    if (have_uw) {
        unw_cursor_t c;
        if (ucv) {
            if (unw_init_local2(&c, (unw_context_t *)ucv, UNW_INIT_SIGNAL_FRAME) < 0)
                return 0;
            return walk(&c, f, max, true);
        }
        ucontext_t uc;
        if (getcontext(&uc) != 0 || unw_init_local(&c, &uc) < 0)
            return 0;
        return walk(&c, f, max, false);
    }
#endif
    /* Bounded by the calling thread's or goroutine's stack: we take it as
     * the 8 MB above the current frame, and stop at the first frame
     * pointer that does not increase. */
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
#if defined(__x86_64__)
    if (ucv) {
        ucontext_t *uc = ucv;
        uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
        return fp_walk((uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
                       (uintptr_t)uc->uc_mcontext.gregs[REG_RBP], sp, sp + (8u << 20), f, max,
                       true);
    }
#endif
    return fp_walk((uintptr_t)__builtin_return_address(0), peek(here), here,
                   here + (8u << 20), f, max, false);
}

/* ---- names ------------------------------------------------------------------ */

struct sym {
    const char *name;
    uintptr_t start;
};

#ifdef GO_HAVE_LIBBACKTRACE
static void on_syminfo(void *data, uintptr_t pc, const char *name, uintptr_t val,
                       uintptr_t size)
{
    (void)pc;
    (void)size;
    struct sym *s = data;
    s->name = name;
    s->start = val;
}

#define MAX_INLINE 8
struct lines {
    int n;
    const char *fn[MAX_INLINE], *file[MAX_INLINE];
    int line[MAX_INLINE];
};

static int on_pcinfo(void *data, uintptr_t pc, const char *file, int line, const char *fn)
{
    (void)pc;
    struct lines *l = data;
    if (l->n < MAX_INLINE && (fn || file)) {
        l->fn[l->n] = fn;
        l->file[l->n] = file;
        l->line[l->n] = line;
        l->n++;
    }
    return 0;
}
#endif

/* The function containing pc (a return address unless exact). */
static struct sym lookup(const tb_frame_t *fr)
{
    struct sym s = {NULL, 0};
    uintptr_t q = fr->exact ? fr->pc : fr->pc - 1;
#ifdef GO_HAVE_LIBBACKTRACE
    if (bt_state)
        backtrace_syminfo(bt_state, q, on_syminfo, bt_error, &s);
    if (s.name)
        return s;
#endif
    if (fr->name[0]) {
        s.name = fr->name;
        s.start = fr->pc - fr->off;
        return s;
    }
    Dl_info di;
    if (dladdr((void *)q, &di) && di.dli_sname) {
        s.name = di.dli_sname;
        s.start = (uintptr_t)di.dli_saddr;
    }
    return s;
}

static void put_where(dbg_out_t *o, const tb_frame_t *fr, struct sym s)
{
    uintptr_t q = fr->exact ? fr->pc : fr->pc - 1;
    (void)q;
#ifdef GO_HAVE_LIBBACKTRACE
    struct lines l;
    l.n = 0;
    if (bt_state)
        backtrace_pcinfo(bt_state, q, on_pcinfo, bt_error, &l);
    if (l.n > 0 && l.file[0]) {
        /* Innermost first: each inlined call, then the real frame. */
        for (int i = 0; i < l.n; i++) {
            const char *fn = l.fn[i] ? l.fn[i] : (i == l.n - 1 && s.name ? s.name : "?");
            dbg_puts(o, fn);
            dbg_puts(o, "(...)\n\t");
            dbg_puts(o, l.file[i] ? l.file[i] : "?");
            dbg_puts(o, ":");
            dbg_putu(o, (uint64_t)(l.line[i] > 0 ? l.line[i] : 0));
            if (i == l.n - 1 && s.name) {
                dbg_puts(o, " +");
                dbg_putx(o, fr->pc - s.start);
            }
            dbg_puts(o, "\n");
        }
        return;
    }
#endif
    dbg_puts(o, s.name ? s.name : "?");
    dbg_puts(o, "(...)\n\t");
    Dl_info di;
    if (dladdr((void *)q, &di) && di.dli_fname && di.dli_fname[0])
        dbg_puts(o, di.dli_fname);
    else
        dbg_puts(o, "?");
    if (s.name) {
        dbg_puts(o, " +");
        dbg_putx(o, fr->pc - s.start);
    } else {
        dbg_puts(o, " pc=");
        dbg_putx(o, fr->pc);
    }
    dbg_puts(o, "\n");
}

static bool public_name(const char *name)
{
    return name && name[0] == 'g' && name[1] == 'o' && (name[2] == '_' || name[2] == 0);
}

const char *tb_fn_name(uintptr_t pc)
{
    tb_init();
    tb_frame_t fr = {.pc = pc, .exact = true};
    fr.name[0] = 0;
    return lookup(&fr).name;
}

void tb_print_fn(dbg_out_t *o, uintptr_t pc)
{
    tb_frame_t fr = {.pc = pc, .exact = true};
    fr.name[0] = 0;
    put_where(o, &fr, lookup(&fr));
}

int tb_print(dbg_out_t *o, const tb_frame_t *f, int n)
{
    /* The top frames inside the runtime (the switch, the park) are left
     * out; the public call the goroutine made (go_chan_recv...) is kept,
     * as are frames of the program called back from the runtime. The
     * bottom frames (the goroutine's trampoline) are left out too. */
    int first = 0;
    while (first < n && tb_in_runtime(f[first].pc)) {
        struct sym s = lookup(&f[first]);
        if (public_name(s.name))
            break;
        first++;
    }
    int last = n;
    while (last > first && tb_in_runtime(f[last - 1].pc) && !public_name(lookup(&f[last - 1]).name))
        last--;
    for (int i = first; i < last; i++)
        put_where(o, &f[i], lookup(&f[i]));
    if (n == TB_MAX_FRAMES)
        dbg_puts(o, "...additional frames elided...\n");
    return last - first;
}

void tb_print_pc(dbg_out_t *o, const char *prefix, uintptr_t pc, const char *suffix)
{
    tb_frame_t fr = {.pc = pc, .exact = false};
    fr.name[0] = 0;
    struct sym s = lookup(&fr);
    uintptr_t q = pc - 1;
    (void)q;
    dbg_puts(o, prefix);
    const char *fn = s.name;
    const char *file = NULL;
    int line = 0;
#ifdef GO_HAVE_LIBBACKTRACE
    struct lines l;
    l.n = 0;
    if (bt_state)
        backtrace_pcinfo(bt_state, q, on_pcinfo, bt_error, &l);
    if (l.n > 0) {
        /* The function that made the call, even if inlined into another. */
        if (l.fn[0])
            fn = l.fn[0];
        file = l.file[0];
        line = l.line[0];
    }
#endif
    dbg_puts(o, fn ? fn : "?");
    dbg_puts(o, suffix);
    dbg_puts(o, "\n\t");
    if (file) {
        dbg_puts(o, file);
        dbg_puts(o, ":");
        dbg_putu(o, (uint64_t)(line > 0 ? line : 0));
    } else {
        Dl_info di;
        dbg_puts(o, dladdr((void *)q, &di) && di.dli_fname ? di.dli_fname : "?");
    }
    if (s.name) {
        dbg_puts(o, " +");
        dbg_putx(o, pc - s.start);
    } else {
        dbg_puts(o, " pc=");
        dbg_putx(o, pc);
    }
    dbg_puts(o, "\n");
}
