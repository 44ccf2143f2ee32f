/* A program that includes nothing but a bundle's header and links its object file and
 * NAME.weights.c: built with -std=c11 -Wall -Wextra -Werror (gcc and clang) to check the
 * header's contract. It is only linked, never run (for riscv32 the linked image is also
 * what the size check measures). */
#include BUNDLE_HEADER

#define PASTE_(a, b) a##b
#define PASTE(a, b) PASTE_(a, b)
#define B(suffix) PASTE(BUNDLE_NAME, suffix)

extern const uint8_t B(_constant_weights)[];

/* +1: a region may be empty, a C array may not. */
static _Alignas(B(_MEM_ALIGN)) uint8_t mutable_mem[B(_MUTABLE_MEM_SIZE) + 1];
static _Alignas(B(_MEM_ALIGN)) uint8_t activations[B(_ACTIVATIONS_MEM_SIZE) + 1];

int main(void)
{
    return BUNDLE_NAME(B(_constant_weights), mutable_mem, activations);
}
