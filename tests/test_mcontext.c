/*
 * test_mcontext.c - standalone test of the raw context switch in src/arch.
 *
 * It links only against one implementation of context.h (the x86-64 or
 * aarch64 assembly plus context_frame.c, or context_ucontext.c built with
 * -DGO_CONTEXT_UCONTEXT), not against the runtime, and checks what the
 * contract promises: long chains of switches keep exact counts, a new
 * context starts on its own stack with sp 16-byte aligned, callee-saved
 * registers and the floating-point control words survive a switch, and
 * `arg` arrives as the entry argument or the return value. It does not
 * test caller-saved registers, signal masks or errno, which the contract
 * leaves alone, and it does not free stacks of contexts it abandons
 * mid-run until the end.
 *
 * Every check prints a line; the exit status is non-zero if any failed.
 */
#include "context.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

/* Under valgrind, registering the stacks lets memcheck tell a context
 * switch from a wild stack pointer; outside it the requests cost a few
 * instructions. The header is optional. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND 1
#endif
#endif
#ifndef HAVE_VALGRIND
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_STACK_REGISTER(lo, hi) ((void)(lo), (void)(hi), 0u)
#endif

#if defined(GO_CONTEXT_UCONTEXT)
#define IMPL_NAME "ucontext"
#elif defined(__x86_64__)
#define IMPL_NAME "x86-64 assembly"
#elif defined(__aarch64__)
#define IMPL_NAME "aarch64 assembly"
#else
#error "no context implementation for this target; build with -DGO_CONTEXT_UCONTEXT"
#endif

static unsigned long failures;

/* A check that fails prints where and what, but only the first few times,
 * so a broken loop of a million switches does not bury the output. */
#define CHECK(expr)                                                           \
    do {                                                                      \
        if (!(expr)) {                                                        \
            if (failures++ < 20)                                              \
                fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,       \
                        __LINE__, #expr);                                     \
        }                                                                     \
    } while (0)

/* Prints the result line of one named check: it passed if no CHECK failed
 * since `before` was sampled. */
static void report(const char *what, unsigned long before)
{
    printf("%-4s %s\n", failures == before ? "ok" : "FAIL", what);
    fflush(stdout);
}

enum { STACK_SIZE = 64 * 1024 };

/* Stacks come from malloc and are freed only at exit, because an
 * abandoned context still "owns" its stack until nobody can resume it. */
static void *stacks[256];
static size_t nstacks;

static unsigned char *stack_new(void)
{
    if (nstacks == sizeof stacks / sizeof stacks[0])
        abort();
    unsigned char *p = malloc(STACK_SIZE);
    if (p == NULL) {
        perror("malloc");
        exit(2);
    }
    stacks[nstacks++] = p;
    (void)VALGRIND_STACK_REGISTER(p, p + STACK_SIZE);
    return p;
}

/* The context every test switches away from and back to. */
static mctx_t main_ctx;

/* A context that has done its work must never be resumed again; if a
 * switch bug brings control back to it, say so instead of returning from
 * entry (which the contract forbids). */
static void park(mctx_t *self)
{
    for (;;) {
        CHECK(!"a finished context was resumed");
        mctx_switch(self, &main_ctx, NULL);
    }
}

/* ---- (a) long chains of switches ---------------------------------- */

enum { PINGPONG_SWITCHES = 1000000 };
static mctx_t pp_ctx;
static unsigned long pp_switches;

/* Echoes each number it is sent, doubled, counting the switches it
 * makes; main counts its own, so the two together must add up exactly. */
static void pingpong_entry(void *arg)
{
    for (;;) {
        uintptr_t n = (uintptr_t)arg;
        CHECK(n == pp_switches / 2 + 1);
        pp_switches++;
        arg = mctx_switch(&pp_ctx, &main_ctx, (void *)(n * 2));
    }
}

static void test_pingpong(void)
{
    unsigned long before = failures;
    unsigned char *stack = stack_new();
    mctx_make(&pp_ctx, stack, STACK_SIZE, pingpong_entry);
    pp_switches = 0;
    for (uintptr_t n = 1; n <= PINGPONG_SWITCHES / 2; n++) {
        pp_switches++;
        void *r = mctx_switch(&main_ctx, &pp_ctx, (void *)n);
        CHECK((uintptr_t)r == n * 2);
        CHECK(pp_switches == 2 * n);
    }
    CHECK(pp_switches == PINGPONG_SWITCHES);
    report("(a) ping-pong main <-> context: 1000000 switches, count exact", before);
}

enum { RING_SIZE = 100, RING_LAPS = 10000 };
static mctx_t ring[RING_SIZE];
static unsigned long ring_switches;

/* Each member checks that the ring ran in order (the count says whose
 * turn it is), then passes the count on to the next member. The last
 * member's last switch goes back to main. */
static void ring_entry(void *arg)
{
    /* The first switch into member k happens when the count is k. */
    unsigned long k = (unsigned long)(uintptr_t)arg;
    CHECK(k < RING_SIZE);
    for (unsigned long lap = 0; lap < RING_LAPS; lap++) {
        CHECK((uintptr_t)arg == ring_switches);
        CHECK(ring_switches == lap * RING_SIZE + k);
        ring_switches++;
        int last = k == RING_SIZE - 1 && lap == RING_LAPS - 1;
        mctx_t *next = last ? &main_ctx : &ring[(k + 1) % RING_SIZE];
        arg = mctx_switch(&ring[k], next, (void *)(uintptr_t)ring_switches);
    }
    park(&ring[k]);
}

static void test_ring(void)
{
    unsigned long before = failures;
    for (int i = 0; i < RING_SIZE; i++)
        mctx_make(&ring[i], stack_new(), STACK_SIZE, ring_entry);
    ring_switches = 0;
    void *r = mctx_switch(&main_ctx, &ring[0], (void *)0);
    CHECK((uintptr_t)r == (uintptr_t)RING_SIZE * RING_LAPS);
    CHECK(ring_switches == (unsigned long)RING_SIZE * RING_LAPS);
    report("(a) ring of 100 contexts x 10000 laps: 1000000 switches, order and count exact",
           before);
}

/* ---- (b) stack and alignment at entry ----------------------------- */

static mctx_t align_ctx;
static unsigned char *align_lo, *align_hi;
static unsigned long align_frame_fail, align_local_fail, align_fp_fail, align_stack_fail;

/* Not inlined, so it gets its own frame laid out on the assumption that
 * sp was 16-byte aligned at the call; a misaligned stack shows up as a
 * misaligned _Alignas(16) local (or a movaps fault on x86-64). */
__attribute__((noinline)) static void align_probe(void)
{
    _Alignas(16) volatile unsigned char buf[16];
    if ((uintptr_t)buf % 16 != 0)
        align_local_fail++;
    buf[0] = 1;
    /* long double is 80-bit x87 on x86-64 and 128-bit soft float on
     * aarch64; both keep 16-byte aligned stack slots. */
    volatile long double x = 1.0L;
    x = x / 3.0L;
    if (!(x > 0.333L && x < 0.334L))
        align_fp_fail++;
#if defined(__x86_64__)
    /* A volatile __m128 local is stored with aligned moves. */
    volatile __m128 v = _mm_set1_ps(1.5f);
    v = _mm_add_ps(v, v);
    float out[4];
    _mm_storeu_ps(out, v);
    if (out[0] != 3.0f || out[3] != 3.0f)
        align_fp_fail++;
#endif
}

static void align_entry(void *arg)
{
    /* Taking the frame address makes the compiler set up a frame pointer,
     * which sits 16 bytes below the caller's sp on both targets (return
     * address + saved fp on x86-64, saved fp/lr pair on aarch64), so it
     * is 16-byte aligned exactly when sp was at the call. */
    unsigned char *fa = __builtin_frame_address(0);
    if ((uintptr_t)fa % 16 != 0)
        align_frame_fail++;
    if (!(fa > align_lo && fa < align_hi))
        align_stack_fail++;
    align_probe();
    mctx_switch(&align_ctx, &main_ctx, arg);
    park(&align_ctx);
}

static void test_alignment(void)
{
    unsigned char *stack = stack_new();
    /* Misalign both ends of the stack handed to mctx_make, which must round
     * the top down itself. Each trial starts a fresh context on the same
     * memory; the previous one is finished and never resumed. */
    int trials = 0;
    for (int lo_off = 0; lo_off < 16; lo_off += 3) {
        for (int hi_off = 0; hi_off < 16; hi_off += 5) {
            align_lo = stack + lo_off;
            size_t size = STACK_SIZE - 16 - lo_off - hi_off;
            align_hi = align_lo + size;
            mctx_make(&align_ctx, align_lo, size, align_entry);
            mctx_switch(&main_ctx, &align_ctx, NULL);
            trials++;
        }
    }
    unsigned long before = failures;
    CHECK(align_frame_fail == 0);
    report("(b) frame address 16-byte aligned at entry, misaligned stack bounds", before);
    before = failures;
    CHECK(align_stack_fail == 0);
    report("(b) entry runs on the stack given to mctx_make", before);
    before = failures;
    CHECK(align_local_fail == 0);
    report("(b) _Alignas(16) local is 16-byte aligned", before);
    before = failures;
    CHECK(align_fp_fail == 0);
#if defined(__x86_64__)
    report("(b) long double and SSE (__m128) locals work", before);
#else
    report("(b) long double locals work", before);
#endif
    CHECK(trials == 24);
}

/* ---- (c) callee-saved registers ----------------------------------- */

/*
 * test_regs_switch(from, to, arg, in, out) saves the caller's callee-saved
 * registers, loads in[] into all of them, calls mctx_switch(from, to, arg),
 * stores what they hold afterwards into out[], restores the caller's, and
 * returns what mctx_switch returned. Both sides of the test use it with
 * different patterns, so while one side waits in mctx_switch the other has
 * loaded its own values into every one of those registers.
 */
#if defined(__x86_64__)
/* rbx, rbp, r12, r13, r14, r15 */
enum { NREGS = 6 };
__asm__(".pushsection .text\n"
        ".globl test_regs_switch\n"
        ".hidden test_regs_switch\n"
        ".type test_regs_switch, @function\n"
        ".p2align 4\n"
        "test_regs_switch:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        /* The seventh push keeps rsp 16-byte aligned for the call. */
        "  pushq %r8\n"
        "  movq 0(%rcx), %rbx\n"
        "  movq 8(%rcx), %rbp\n"
        "  movq 16(%rcx), %r12\n"
        "  movq 24(%rcx), %r13\n"
        "  movq 32(%rcx), %r14\n"
        "  movq 40(%rcx), %r15\n"
        "  call mctx_switch@PLT\n"
        "  popq %r8\n"
        "  movq %rbx, 0(%r8)\n"
        "  movq %rbp, 8(%r8)\n"
        "  movq %r12, 16(%r8)\n"
        "  movq %r13, 24(%r8)\n"
        "  movq %r14, 32(%r8)\n"
        "  movq %r15, 40(%r8)\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size test_regs_switch, .-test_regs_switch\n"
        ".popsection\n");
static const char *const reg_names[NREGS] = {"rbx", "rbp", "r12", "r13", "r14", "r15"};
#elif defined(__aarch64__)
/* x19-x28, x29, then the low halves of v8-v15 */
enum { NREGS = 19 };
__asm__(".pushsection .text\n"
        ".globl test_regs_switch\n"
        ".hidden test_regs_switch\n"
        ".type test_regs_switch, %function\n"
        ".p2align 4\n"
        "test_regs_switch:\n"
        "  stp x29, x30, [sp, #-176]!\n"
        "  stp x19, x20, [sp, #16]\n"
        "  stp x21, x22, [sp, #32]\n"
        "  stp x23, x24, [sp, #48]\n"
        "  stp x25, x26, [sp, #64]\n"
        "  stp x27, x28, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n"
        "  stp d12, d13, [sp, #128]\n"
        "  stp d14, d15, [sp, #144]\n"
        "  str x4, [sp, #160]\n"
        "  ldp x19, x20, [x3, #0]\n"
        "  ldp x21, x22, [x3, #16]\n"
        "  ldp x23, x24, [x3, #32]\n"
        "  ldp x25, x26, [x3, #48]\n"
        "  ldp x27, x28, [x3, #64]\n"
        "  ldr x29, [x3, #80]\n"
        "  ldp d8, d9, [x3, #88]\n"
        "  ldp d10, d11, [x3, #104]\n"
        "  ldp d12, d13, [x3, #120]\n"
        "  ldp d14, d15, [x3, #136]\n"
        "  bl mctx_switch\n"
        "  ldr x4, [sp, #160]\n"
        "  stp x19, x20, [x4, #0]\n"
        "  stp x21, x22, [x4, #16]\n"
        "  stp x23, x24, [x4, #32]\n"
        "  stp x25, x26, [x4, #48]\n"
        "  stp x27, x28, [x4, #64]\n"
        "  str x29, [x4, #80]\n"
        "  stp d8, d9, [x4, #88]\n"
        "  stp d10, d11, [x4, #104]\n"
        "  stp d12, d13, [x4, #120]\n"
        "  stp d14, d15, [x4, #136]\n"
        "  ldp x19, x20, [sp, #16]\n"
        "  ldp x21, x22, [sp, #32]\n"
        "  ldp x23, x24, [sp, #48]\n"
        "  ldp x25, x26, [sp, #64]\n"
        "  ldp x27, x28, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n"
        "  ldp d12, d13, [sp, #128]\n"
        "  ldp d14, d15, [sp, #144]\n"
        "  ldp x29, x30, [sp], #176\n"
        "  ret\n"
        ".size test_regs_switch, .-test_regs_switch\n"
        ".popsection\n");
static const char *const reg_names[NREGS] = {
    "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
    "x29", "d8",  "d9",  "d10", "d11", "d12", "d13", "d14", "d15"};
#endif

void *test_regs_switch(mctx_t *from, mctx_t *to, void *arg, const uint64_t *in, uint64_t *out);

enum { REGS_ROUNDS = 50 };
static mctx_t regs_ctx;
static uint64_t pat_a[NREGS], out_a[NREGS], pat_b[NREGS], out_b[NREGS];
static unsigned long regs_b_checked;

/* Distinct, non-zero values in every byte, different for every register,
 * round and side, so no register can pass by holding a stale value. */
static void fill_pattern(uint64_t *p, uint64_t seed)
{
    for (int i = 0; i < NREGS; i++)
        p[i] = (seed * 0x9e3779b97f4a7c15u) ^ ((uint64_t)(i + 1) * 0x0101010101010101u);
}

/* Reports each register whose value did not survive, by name. */
static void check_regs(const char *side, const uint64_t *want, const uint64_t *got)
{
    for (int i = 0; i < NREGS; i++) {
        if (want[i] != got[i] && failures < 20)
            fprintf(stderr, "%s: %s was %#llx, expected %#llx\n", side, reg_names[i],
                    (unsigned long long)got[i], (unsigned long long)want[i]);
        CHECK(want[i] == got[i]);
    }
}

/* The other side: loads its own pattern into every callee-saved register
 * and switches back to main, then checks its pattern came back. */
static void regs_entry(void *arg)
{
    (void)arg;
    for (uint64_t round = 0;; round++) {
        fill_pattern(pat_b, 0xb000 + round);
        test_regs_switch(&regs_ctx, &main_ctx, NULL, pat_b, out_b);
        check_regs("other context", pat_b, out_b);
        regs_b_checked++;
    }
}

static void test_callee_saved(void)
{
    unsigned long before = failures;
    mctx_make(&regs_ctx, stack_new(), STACK_SIZE, regs_entry);
    regs_b_checked = 0;
    for (uint64_t round = 0; round < REGS_ROUNDS; round++) {
        fill_pattern(pat_a, 0xa000 + round);
        void *r = test_regs_switch(&main_ctx, &regs_ctx, NULL, pat_a, out_a);
        CHECK(r == NULL);
        check_regs("main", pat_a, out_a);
        /* The other side checks round n when it is resumed for round n+1. */
        CHECK(regs_b_checked == round);
    }
    /* Resume it once more so it checks its last round. */
    mctx_switch(&main_ctx, &regs_ctx, NULL);
    CHECK(regs_b_checked == REGS_ROUNDS);
#if defined(__x86_64__)
    report("(c) rbx, rbp, r12-r15 survive switches on both sides", before);
#else
    report("(c) x19-x29 and d8-d15 survive switches on both sides", before);
#endif
}

/* ---- (d) floating-point control ----------------------------------- */

enum { RM_NEAREST, RM_UP, RM_ZERO };

#if defined(__x86_64__)
typedef struct {
    uint32_t mxcsr;
    uint16_t x87cw;
} fpctl_t;

/* MXCSR bits 0-5 are sticky exception flags, not control. */
#define MXCSR_FLAGS 0x3fu

static fpctl_t fpctl_get(void)
{
    fpctl_t f;
    __asm__ volatile("stmxcsr %0" : "=m"(f.mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(f.x87cw));
    f.mxcsr &= ~MXCSR_FLAGS;
    return f;
}

static void fpctl_set(fpctl_t f)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(f.mxcsr) : "memory");
    __asm__ volatile("fldcw %0" : : "m"(f.x87cw) : "memory");
}

static int fpctl_equal(fpctl_t a, fpctl_t b)
{
    return a.mxcsr == b.mxcsr && a.x87cw == b.x87cw;
}

/* Sets the rounding mode in both MXCSR (bits 13-14) and the x87 control
 * word (bits 10-11), which use the same encoding. */
static void round_set(int mode)
{
    static const unsigned rc[] = {[RM_NEAREST] = 0, [RM_UP] = 2, [RM_ZERO] = 3};
    fpctl_t f = fpctl_get();
    f.mxcsr = (f.mxcsr & ~(3u << 13)) | rc[mode] << 13;
    f.x87cw = (uint16_t)((f.x87cw & ~(3u << 10)) | rc[mode] << 10);
    fpctl_set(f);
}

/* The state mctx_make gives a new assembly context. */
static int fpctl_is_default(fpctl_t f)
{
    return f.mxcsr == 0x1f80 && f.x87cw == 0x037f;
}
#elif defined(__aarch64__)
typedef struct {
    uint64_t fpcr;
} fpctl_t;

static fpctl_t fpctl_get(void)
{
    fpctl_t f;
    __asm__ volatile("mrs %0, fpcr" : "=r"(f.fpcr));
    return f;
}

static void fpctl_set(fpctl_t f)
{
    __asm__ volatile("msr fpcr, %0" : : "r"(f.fpcr) : "memory");
}

static int fpctl_equal(fpctl_t a, fpctl_t b)
{
    return a.fpcr == b.fpcr;
}

/* FPCR.RMode is bits 22-23. */
static void round_set(int mode)
{
    static const unsigned rc[] = {[RM_NEAREST] = 0, [RM_UP] = 1, [RM_ZERO] = 3};
    fpctl_t f = fpctl_get();
    f.fpcr = (f.fpcr & ~(UINT64_C(3) << 22)) | (uint64_t)rc[mode] << 22;
    fpctl_set(f);
}

static int fpctl_is_default(fpctl_t f)
{
    return f.fpcr == 0;
}
#endif

/* Divides at run time (volatile operands defeat constant folding) and
 * tells the rounding modes apart: 1/3 rounds up only under RM_UP, 1/10
 * rounds up under RM_NEAREST and RM_UP but not RM_ZERO. */
static int round_observed(void)
{
    volatile double one = 1.0, three = 3.0, ten = 10.0;
    double third = one / three, tenth = one / ten;
    uint64_t t3, t10;
    memcpy(&t3, &third, 8);
    memcpy(&t10, &tenth, 8);
    if (t3 == 0x3fd5555555555556u && t10 == 0x3fb999999999999au)
        return RM_UP;
    if (t3 == 0x3fd5555555555555u && t10 == 0x3fb999999999999au)
        return RM_NEAREST;
    if (t3 == 0x3fd5555555555555u && t10 == 0x3fb9999999999999u)
        return RM_ZERO;
    return -1;
}

/* Valgrind's emulated SSE rounds to nearest whatever MXCSR says, so under
 * it only the control words themselves can be checked. */
static int rounds_as(int mode)
{
    return RUNNING_ON_VALGRIND || round_observed() == mode;
}

enum { FP_ROUNDS = 5 };
static mctx_t fp_ctx;
static fpctl_t fp_creator;
static unsigned long fp_initial_fail, fp_other_fail, fp_other_rounds;

/* The assembly mctx_make starts a context with the default control words,
 * while getcontext() in the ucontext build copies its creator's. */
static int fpctl_is_initial(fpctl_t f)
{
#if defined(GO_CONTEXT_UCONTEXT)
    return fpctl_equal(f, fp_creator);
#else
    return fpctl_is_default(f) && rounds_as(RM_NEAREST);
#endif
}

/* The other side runs round-up, and checks on every resume that main's
 * round-toward-zero did not leak in. */
static void fp_entry(void *arg)
{
    (void)arg;
    if (!fpctl_is_initial(fpctl_get()))
        fp_initial_fail++;
    round_set(RM_UP);
    fpctl_t mine = fpctl_get();
    for (;;) {
        mctx_switch(&fp_ctx, &main_ctx, NULL);
        if (!fpctl_equal(fpctl_get(), mine) || !rounds_as(RM_UP))
            fp_other_fail++;
        fp_other_rounds++;
    }
}

static void test_fp_control(void)
{
    unsigned long before = failures;
    fpctl_t saved = fpctl_get();
    CHECK(fpctl_is_default(saved));
    CHECK(rounds_as(RM_NEAREST));
    round_set(RM_ZERO);
    fpctl_t mine = fpctl_get();
    CHECK(rounds_as(RM_ZERO));
    /* Made after main changed its mode, to see which control words a new
     * context starts with. */
    fp_creator = mine;
    mctx_make(&fp_ctx, stack_new(), STACK_SIZE, fp_entry);
    for (int i = 0; i < FP_ROUNDS; i++) {
        mctx_switch(&main_ctx, &fp_ctx, NULL);
        CHECK(fpctl_equal(fpctl_get(), mine));
        CHECK(rounds_as(RM_ZERO));
    }
    /* Resume it once more so it checks its mode after the last round. */
    mctx_switch(&main_ctx, &fp_ctx, NULL);
    fpctl_set(saved);
    CHECK(rounds_as(RM_NEAREST));
    report("(d) main's round-toward-zero survives switches to a round-up context", before);
    before = failures;
    CHECK(fp_other_fail == 0);
    CHECK(fp_other_rounds == FP_ROUNDS);
    report("(d) the other context's round-up survives switches back to main", before);
    before = failures;
    CHECK(fp_initial_fail == 0);
#if defined(GO_CONTEXT_UCONTEXT)
    report("(d) a new context starts with its creator's FP control words", before);
#else
    report("(d) a new context starts with the default FP control words", before);
#endif
}

/* ---- (e) arg passing ---------------------------------------------- */

static mctx_t arg_ctx;
static void *arg_seen[3];
static int arg_anchor;

#define BIG_PTR ((void *)(uintptr_t)UINT64_C(0xfedcba9876543210))
#define ODD_PTR ((void *)(uintptr_t)UINT64_C(0x0123456789abcdef))

/* Records what each resume delivered and answers with known values. */
static void arg_entry(void *arg)
{
    arg_seen[0] = arg;
    arg_seen[1] = mctx_switch(&arg_ctx, &main_ctx, ODD_PTR);
    arg_seen[2] = mctx_switch(&arg_ctx, &main_ctx, NULL);
    mctx_switch(&arg_ctx, &main_ctx, &arg_ctx);
    park(&arg_ctx);
}

static void test_args(void)
{
    unsigned long before = failures;
    mctx_make(&arg_ctx, stack_new(), STACK_SIZE, arg_entry);
    void *r = mctx_switch(&main_ctx, &arg_ctx, BIG_PTR);
    CHECK(arg_seen[0] == BIG_PTR);
    report("(e) arg of the first switch arrives as entry's argument", before);
    before = failures;
    CHECK(r == ODD_PTR);
    r = mctx_switch(&main_ctx, &arg_ctx, NULL);
    CHECK(arg_seen[1] == NULL);
    CHECK(r == NULL);
    r = mctx_switch(&main_ctx, &arg_ctx, &arg_anchor);
    CHECK(arg_seen[2] == &arg_anchor);
    CHECK(r == &arg_ctx);
    report("(e) arg arrives as mctx_switch's return value, both directions", before);
}

int main(void)
{
    printf("context switch test: %s\n", IMPL_NAME);
    if (RUNNING_ON_VALGRIND)
        printf("note: under valgrind, FP rounding is checked by control word only\n");
    test_pingpong();
    test_ring();
    test_alignment();
    test_callee_saved();
    test_fp_control();
    test_args();
    for (size_t i = 0; i < nstacks; i++)
        free(stacks[i]);
    if (failures != 0) {
        printf("FAILED: %lu check(s)\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
