/* afkd worked example: ADC -> circular DMA -> front end -> hops -> the streaming model.
 *
 * Set-up in CubeMX: ADC1 on the ECG input, triggered by a timer at the rate the model was
 * exported for (--adc-rate, e.g. 500 Hz), 12-bit, DMA in circular mode with half-word data,
 * "DMA continuous requests" on. Export the model with the ADC's scaling, for example an
 * AD8232 front end (gain 1100) on a 3.3 V, 12-bit ADC centred at mid-scale:
 *     afkd export --checkpoint models/student_fitnet.pt --target stm32 --board stm32l476 \
 *         --adc-rate 500 --adc-gain-mv 0.000732 --adc-offset 2048 --out out/l476
 *
 * The DMA fills adc_buffer[] again and again; the HAL calls the half-transfer callback when
 * the first half is full and the transfer-complete callback when the second is. Each callback
 * turns its half into model-rate samples (dtfe_preprocess_push: integer arithmetic, a few
 * microseconds per half) and queues every complete hop. The model step (the expensive part)
 * runs in afkd_adc_dma_poll(), outside the interrupt, so the ADC never waits for it.
 */
#include <string.h>

#include "afkd_adc_dma.h"
#include "dtfe_preprocess.h"
#include "main.h"  /* CubeMX: the HAL and the ADC handle hadc1 */

#define ADC_HALF 32u       /* ADC samples per DMA half: 64 ms at 500 Hz */
#define QUEUED_HOPS 4u     /* hops the callbacks may run ahead of the main loop */

static uint16_t adc_buffer[2u * ADC_HALF];
static dtfe_preprocess_state front_end;
static dtfe_state model;

static dtfe_sample_t filling[DTFE_HOP];  /* the hop the callbacks are filling */
static uint32_t filled;
static dtfe_sample_t queue[QUEUED_HOPS][DTFE_HOP];
static volatile uint32_t queue_head, queue_tail;  /* head: callbacks write, tail: main loop reads */
static volatile unsigned overruns;

void afkd_adc_dma_start(void)
{
    dtfe_preprocess_init(&front_end);
    dtfe_init(&model);
    filled = 0u;
    queue_head = queue_tail = 0u;
    overruns = 0u;
    HAL_ADC_Start_DMA(&hadc1, (uint32_t *)adc_buffer, 2u * ADC_HALF);
}

/* Interrupt context: counts -> model-rate samples -> complete hops into the queue. */
static void take_half(const uint16_t *counts)
{
    for (uint32_t i = 0; i < ADC_HALF; ++i) {
        dtfe_sample_t codes[2];
        const int produced = dtfe_preprocess_push(&front_end, counts[i], codes);
        for (int k = 0; k < produced; ++k) {
            filling[filled++] = codes[k];
            if (filled == DTFE_HOP) {
                filled = 0u;
                if (queue_head - queue_tail == QUEUED_HOPS) {
                    overruns = overruns + 1u;  /* the main loop is too slow: drop this hop */
                    continue;
                }
                memcpy(queue[queue_head % QUEUED_HOPS], filling, sizeof filling);
                queue_head = queue_head + 1u;
            }
        }
    }
}

void HAL_ADC_ConvHalfCpltCallback(ADC_HandleTypeDef *hadc)
{
    (void)hadc;
    take_half(&adc_buffer[0]);
}

void HAL_ADC_ConvCpltCallback(ADC_HandleTypeDef *hadc)
{
    (void)hadc;
    take_half(&adc_buffer[ADC_HALF]);
}

int afkd_adc_dma_poll(void)
{
    int ran = 0;
    while (queue_tail != queue_head) {
        static dtfe_sample_t aa[DTFE_HOP], va[DTFE_HOP];
        dtfe_step(&model, queue[queue_tail % QUEUED_HOPS], aa, va);
        queue_tail = queue_tail + 1u;
        afkd_adc_dma_output(aa, va);
        ++ran;
    }
    return ran;
}

unsigned afkd_adc_dma_overruns(void)
{
    return overruns;
}
