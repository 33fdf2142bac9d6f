/* afkd worked example: the f-wave extractor fed by an ADC in circular DMA (STM32 HAL).
 * See docs/integration.md. Call afkd_adc_dma_start() once after MX_ADC1_Init(), and
 * afkd_adc_dma_poll() from the main loop; the HAL calls the two DMA callbacks below. */
#ifndef AFKD_ADC_DMA_H
#define AFKD_ADC_DMA_H

#include "dtfe_model.h"

void afkd_adc_dma_start(void);

/* Runs the model on every hop the DMA callbacks completed; returns the hops it ran. */
int afkd_adc_dma_poll(void);

/* Hops the callbacks had to drop because the main loop fell 4 hops behind (should stay 0). */
unsigned afkd_adc_dma_overruns(void);

/* Your code: called by afkd_adc_dma_poll() with every output hop (the f-waves and the QRST
 * part, DTFE_HOP samples each, in the model's output codes; dtfe_model.h gives the scales). */
void afkd_adc_dma_output(const dtfe_sample_t *aa, const dtfe_sample_t *va);

#endif /* AFKD_ADC_DMA_H */
