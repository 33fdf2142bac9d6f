/* m4_support.h - see m4_support.c. */
#ifndef M4_SUPPORT_H
#define M4_SUPPORT_H

#include <stdint.h>

/* Prints "<name> OK|MISMATCH ... instructions=N macs=M" and counts failures. */
void m4_report(const char *name, const int32_t *actual, const int32_t *expected, int32_t n,
               uint32_t instructions, uint32_t macs);
void m4_run_cases(void);

#endif
