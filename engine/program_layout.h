/* Layout decisions between a program's host steps (engine/program_layout.c). */
#ifndef EMBER_PROGRAM_LAYOUT_H
#define EMBER_PROGRAM_LAYOUT_H
#include "program.h"

/* Layout chaining (ops/host.h): a value written by a host step in a layout of its own and
 * read only by host steps that take it in that layout stays in it, so neither side
 * converts; in-place Concats whose parts all come in one channel-blocked layout keep it.
 * EMBER_LAYOUT_CHAIN=0 turns it off. */
ember_status ember_program_chain_layouts(ember_program *p);
/* Marks the convs of regions joined to a blockable in-place Concat ember_channel_blocks
 * = 1 (fp32 only), before the steps are prepared. */
ember_status ember_program_mark_channel_blocks(ember_program *p, int precision);
#endif
