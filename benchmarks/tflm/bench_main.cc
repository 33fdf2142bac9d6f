// afkd benchmark harness: one .tflite in TensorFlow Lite Micro (reference or CMSIS-NN kernels)
// on QEMU's mps2-an386 (Cortex-M4F), timed with afkd's SysTick instruction counter under
// -icount, results printed through semihosting. Built and run by benchmarks/bench_tflm.py.
//
// It registers the ops the afkd separator uses, runs Invoke() twice on the recording in
// bench_model_data.cc (the second is timed: the first may pay one-time costs), and compares
// every output code with what TFLM's Python interpreter gave on the host.
#include <cstdarg>
#include <cstdint>
#include <cstdio>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

extern "C" {
#include "afkd_cortex_m.h"
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);
// Function-local statics with destructors register them with __cxa_atexit, which wants the
// DSO handle that crtbegin would give; there is no crtbegin here (-nostartfiles) and no exit.
void* __dso_handle = nullptr;
}

extern const unsigned char bench_model[];
extern const int16_t bench_input[];
extern const int16_t bench_expected[];
extern const unsigned bench_samples;   // input length (one channel)
extern const unsigned bench_outputs;   // output tensors, each bench_samples long, in order

namespace {

constexpr size_t kArenaBytes = 512 * 1024;
alignas(16) uint8_t arena[kArenaBytes];

void semihosting_write0(const char* text) {
  register uint32_t operation __asm("r0") = 0x04;  // SYS_WRITE0
  register const char* argument __asm("r1") = text;
  __asm volatile("bkpt 0xAB" : "+r"(operation) : "r"(argument) : "memory");
}

void say(const char* format, ...) {
  char line[200];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  semihosting_write0(line);
}

}  // namespace

// TFLM's log, one "tflm: " line per message (MicroPrintf sends the text, then its line end).
extern "C" void DebugLog(const char* format, va_list args) {
  static bool at_line_start = true;
  char text[200];
  const int length = vsnprintf(text, sizeof text, format, args);
  if (length <= 0) return;
  if (at_line_start) semihosting_write0("tflm: ");
  semihosting_write0(text);
  at_line_start = text[length < (int)sizeof text ? length - 1 : sizeof text - 2] == '\n';
}

extern "C" int DebugVsnprintf(char* buffer, size_t size, const char* format, va_list args) {
  return vsnprintf(buffer, size, format, args);
}

int main() {
  // afkd's start-up (firmware/boards/cortex_m) is C only: run the C++ static constructors here.
  for (void (**constructor)(void) = __init_array_start; constructor < __init_array_end; ++constructor) {
    (*constructor)();
  }
  cortex_m_counter_init(25000000u, 0);  // mps2-an386's SysTick clock; -icount shift found at boot
  const tflite::Model* model = tflite::GetModel(bench_model);
  static tflite::MicroMutableOpResolver<9> resolver;
  resolver.AddPad();
  resolver.AddConv2D();
  resolver.AddDepthwiseConv2D();
  resolver.AddLeakyRelu();
  resolver.AddAdd();
  resolver.AddLogistic();
  resolver.AddMul();
  resolver.AddTransposeConv();
  resolver.AddStridedSlice();
  static tflite::MicroInterpreter interpreter(model, resolver, arena, kArenaBytes);
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    say("result allocate_failed\n");
    cortex_m_semihosting_exit(1);
  }
  TfLiteTensor* input = interpreter.input(0);
  uint32_t counts[2] = {0, 0};
  for (int run = 0; run < 2; ++run) {
    int16_t* data = input->data.i16;
    for (unsigned i = 0; i < bench_samples; ++i) data[i] = bench_input[i];
    cortex_m_counter_start();
    const TfLiteStatus status = interpreter.Invoke();
    counts[run] = cortex_m_counter_read();
    if (status != kTfLiteOk) {
      say("result invoke_failed\n");
      cortex_m_semihosting_exit(1);
    }
  }
  unsigned mismatches = 0;
  for (unsigned o = 0; o < bench_outputs; ++o) {
    const int16_t* out = interpreter.output(o)->data.i16;
    for (unsigned i = 0; i < bench_samples; ++i) {
      mismatches += out[i] != bench_expected[o * bench_samples + i];
    }
  }
  say("counter_kind %u\n", (unsigned)cortex_m_counter_kind());
  say("invoke_first %lu\n", (unsigned long)counts[0]);
  say("invoke_instructions %lu\n", (unsigned long)counts[1]);
  say("arena_used_bytes %lu\n", (unsigned long)interpreter.arena_used_bytes());
  say("mismatches %u\n", mismatches);
  say("result ok\n");
  cortex_m_semihosting_exit(0);
}
