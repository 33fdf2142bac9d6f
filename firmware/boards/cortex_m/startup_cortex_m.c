/* Minimal Cortex-M start-up shared by the boards: core vector table, FPU enable (cores with one),
 * .data copy, .bss clear, main. No peripheral interrupts are used, so the table stops at
 * SysTick. Symbols come from cortex_m_sections.ld. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

__attribute__((section(".isr_vector"), used))
void (*const afkd_vector_table[16])(void) = {
    (void (*)(void))(&_estack),
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
};

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CP10/CP11 full access before any floating-point instruction: the code is built with
     * -mfloat-abi=hard and may touch s-registers anywhere after this. (Cortex-M0+ has no FPU
     * and no CPACR: built soft-float, it skips this.) */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm volatile("dsb\n\tisb" : : : "memory");
#endif

    for (uint32_t *source = &_sidata, *dest = &_sdata; dest < &_edata;) {
        *dest++ = *source++;
    }
    for (uint32_t *dest = &_sbss; dest < &_ebss;) {
        *dest++ = 0u;
    }
    main();
    for (;;) {
    }
}

void Default_Handler(void)
{
    /* A fault parks the core: the host runner's timeout reports the silence. */
    for (;;) {
    }
}
