/*
 * Config sections owned by the other daemons. Each section kind has its
 * struct here, a member in struct config (config.h), a row in the section
 * table in config.c, and its parser (defaults, set, check) in
 * conf_<kind>.c.
 */
#ifndef HAGW_CONF_SECTIONS_H
#define HAGW_CONF_SECTIONS_H

#include <stdint.h>

struct config;

#endif
