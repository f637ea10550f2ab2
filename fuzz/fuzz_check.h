/*
 * fuzz_check.h - the one assertion the fuzz targets share.
 *
 * CHECK(cond, fmt, ...) aborts with the target's name (from the program's
 * invocation name), the file, line and condition, and a formatted
 * explanation. Aborting, rather than returning, is what tells libFuzzer
 * (and the corpus replay run by ctest) that an input broke the model.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

extern char *program_invocation_short_name;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s: %s:%d: check failed: %s: ",                   \
                    program_invocation_short_name, __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
