/*
 * test_hook_curl - unmodified libcurl (Debian's libcurl4-openssl, the
 * easy, blocking API) in goroutines, with libgoroutine-hook linked in,
 * fetching from this project's HTTP example server (examples/http_hello),
 * which the test starts on a free loopback port and stops.
 *
 * 200 goroutines each make their own easy handle and fetch 5 URLs over
 * one kept-alive connection; every status and body is checked. curl
 * waits in poll(2) on its socket and its multi handle's wake-up pair, so
 * this drives the hooks' many-descriptor poll as well as connect, send
 * and recv. A plain-thread fetch before the runtime starts checks that
 * the hooks pass curl through untouched there.
 */
#include "hook_util.h"

#include <curl/curl.h>

#define NG 200
#define PER 5

static int port;
static int errors, bodies_ok;
static go_wg wg;

struct buf {
    char data[256];
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t k = size * n;
    if (b->len + k > sizeof b->data - 1)
        k = sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, p, k);
    b->len += k;
    b->data[b->len] = 0;
    return size * n;
}

static int fetch(CURL *h, int i, int j)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/g%d/r%d", port, i, j);
    struct buf b = {.len = 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK || code != 200 || strcmp(b.data, "Hello, World!\n") != 0) {
        fprintf(stderr, "goroutine %d request %d: curl %d (%s), status %ld, body '%s'\n", i, j,
                (int)rc, curl_easy_strerror(rc), code, b.data);
        return 0;
    }
    return 1;
}

static void worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    CURL *h = curl_easy_init();
    if (!h) {
        __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
    } else {
        for (int j = 0; j < PER; j++) {
            if (fetch(h, i, j))
                __atomic_fetch_add(&bodies_ok, 1, __ATOMIC_RELAXED);
            else
                __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
        }
        curl_easy_cleanup(h);
    }
    go_wg_done(&wg);
}

int main(void)
{
    const char *server = GO_HTTP_HELLO;
    if (!server[0]) {
        fprintf(stderr, "FAIL: built without the examples (GO_BUILD_EXAMPLES=OFF): "
                        "no http_hello to fetch from\n");
        return 1;
    }
    hook_need(server, "(this project's examples/http_hello)");
    hook_raise_nofile();
    port = hook_free_port();
    char addr[64], log[] = "/tmp/hook-curl-XXXXXX";
    int lfd = mkstemp(log);
    CHECK(lfd >= 0);
    close(lfd);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    char *argv[] = {(char *)server, addr, NULL};
    pid_t srv = hook_spawn(argv, log);
    hook_wait_port(port, srv, log);

    CHECK_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
    CURL *h = curl_easy_init();
    CHECK(h != NULL);
    CHECK(fetch(h, -1, 0)); /* a plain thread, before the runtime starts */
    curl_easy_cleanup(h);

    double t0 = hook_now();
    for (int i = 0; i < NG; i++) {
        go_wg_add(&wg, 1);
        CHECK_EQ(go(worker, (void *)(intptr_t)i), 0);
    }
    go_wg_wait(&wg);
    double t = hook_now() - t0;
    CHECK_EQ(errors, 0);
    CHECK_EQ(bodies_ok, NG * PER);
    printf("curl: %d goroutines x %d fetches, every body checked, in %.3f s\n", NG, PER, t);
    curl_global_cleanup();
    hook_stop(srv);
    unlink(log);
    return 0;
}
