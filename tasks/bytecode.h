/*
 * bytecode.h: what sta reads out of EVM bytecode: the 4-byte operands of
 * PUSH4 instructions, where Solidity's dispatcher keeps function
 * selectors.  Push data is skipped, so bytes inside a PUSH never count as
 * instructions.
 */
#ifndef STA_BYTECODE_H
#define STA_BYTECODE_H

#include <stddef.h>

#include "lib/util.h"

/* Appends "0x" + 8 hex digits for every PUSH4 operand, sorted and unique.
 * With first_block_only, stops at the first JUMPDEST: ethereum-etl's
 * function_sighashes (the "init" basic block of its disassembler). */
void bytecode_push4(const unsigned char *code, size_t len, int first_block_only,
    struct strv *out);

#endif
