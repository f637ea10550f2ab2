/*
 * sysmon.h - the monitor thread and asynchronous preemption (see sysmon.c).
 */
#ifndef GO_SYSMON_H
#define GO_SYSMON_H

#include "runtime.h"

/* Start sysmon (once, from rt_init) and install the preemption handler. */
void sysmon_start(void);

#endif /* GO_SYSMON_H */
