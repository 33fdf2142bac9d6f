/* The CMSDK APB UART of ARM's MPS2 FPGA images (QEMU's mps2-an386/an500/an505): header only,
 * for the mps2_* board files. QEMU's model neither sends nor receives while BAUDDIV < 16, so
 * it is set to the 115200 value even though the emulator does not pace bytes. */
#ifndef AFKD_CMSDK_UART_H
#define AFKD_CMSDK_UART_H

#include <stdint.h>

#define AFKD_CMSDK_UART_DATA(base) (*(volatile uint32_t *)((base) + 0x00u))
#define AFKD_CMSDK_UART_STATE(base) (*(volatile uint32_t *)((base) + 0x04u))
#define AFKD_CMSDK_UART_CTRL(base) (*(volatile uint32_t *)((base) + 0x08u))
#define AFKD_CMSDK_UART_BAUDDIV(base) (*(volatile uint32_t *)((base) + 0x10u))
#define AFKD_CMSDK_STATE_TX_FULL (1u << 0)
#define AFKD_CMSDK_STATE_RX_FULL (1u << 1)

static inline void afkd_cmsdk_uart_init(uint32_t base, uint32_t clock_hz)
{
    AFKD_CMSDK_UART_BAUDDIV(base) = clock_hz / 115200u;
    AFKD_CMSDK_UART_CTRL(base) = 3u;  /* TX_EN | RX_EN */
}

static inline int afkd_cmsdk_uart_getc(uint32_t base)
{
    while ((AFKD_CMSDK_UART_STATE(base) & AFKD_CMSDK_STATE_RX_FULL) == 0u) {
    }
    return (int)(AFKD_CMSDK_UART_DATA(base) & 0xFFu);
}

static inline void afkd_cmsdk_uart_putc(uint32_t base, uint8_t byte)
{
    while ((AFKD_CMSDK_UART_STATE(base) & AFKD_CMSDK_STATE_TX_FULL) != 0u) {
    }
    AFKD_CMSDK_UART_DATA(base) = byte;
}

#endif /* AFKD_CMSDK_UART_H */
