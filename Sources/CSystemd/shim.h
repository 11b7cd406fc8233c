#ifndef SWPCS_CSYSTEMD_SHIM_H
#define SWPCS_CSYSTEMD_SHIM_H
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sched.h>
#include <poll.h>
#endif
