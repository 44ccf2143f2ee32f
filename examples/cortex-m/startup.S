/* Cortex-M startup for the bundle example: the vector table and the reset handler.
 * Assembly rather than C because the FPU must be switched on before the first
 * floating-point instruction, and a C function built with -mfloat-abi=hard may use
 * s-registers anywhere (even in a compiler-generated block copy). */
    .syntax unified
    .thumb

    .section .isr_vector, "a", %progbits
    .align 2
    .global vector_table
vector_table:
    .word _estack            /* initial main stack pointer (linker script) */
    .word reset_handler
    .word fault_handler      /* NMI */
    .word fault_handler      /* HardFault */
    .word fault_handler      /* MemManage */
    .word fault_handler      /* BusFault */
    .word fault_handler      /* UsageFault */
    .word 0, 0, 0, 0         /* reserved */
    .word fault_handler      /* SVCall */
    .word fault_handler      /* DebugMonitor */
    .word 0                  /* reserved */
    .word fault_handler      /* PendSV */
    .word fault_handler      /* SysTick */
    /* No device interrupts are enabled, so the table ends with the system exceptions. */

    .text
    .align 2
    .global reset_handler
    .type reset_handler, %function
    .thumb_func
reset_handler:
    /* CPACR (0xE000ED88): full access to CP10 and CP11, the FPU; DSB/ISB so the next
     * instruction already sees it. */
    ldr   r0, =0xE000ED88
    ldr   r1, [r0]
    orr   r1, r1, #(0xF << 20)
    str   r1, [r0]
    dsb
    isb

    /* .data: copy its initial values from their load address (flash) to RAM. */
    ldr   r0, =_sdata
    ldr   r1, =_edata
    ldr   r2, =_sidata
1:  cmp   r0, r1
    bhs   2f
    ldr   r3, [r2], #4
    str   r3, [r0], #4
    b     1b

    /* .bss: zero it. */
2:  ldr   r0, =_sbss
    ldr   r1, =_ebss
    movs  r2, #0
3:  cmp   r0, r1
    bhs   4f
    str   r2, [r0], #4
    b     3b

4:  bl    main
    bl    semihost_exit      /* main's return value is the exit status */
5:  b     5b
    .size reset_handler, . - reset_handler
    .pool
