/*
 * afkd_kernels.h - the integer (int8, int16x8) kernels of the afkd runtime.
 *
 * Bit-exactness: every integer kernel returns the same bits as TFLite's reference kernel
 * for the op named in its comment (checked by tests/test_kernels_*.py against the TFLite
 * and TFLM interpreters). The NumPy twin of each kernel is in export/intops.py, which also
 * derives every parameter below from a .tflite's quantization parameters.
 *
 * Conventions:
 * - Activations are frame-major: one frame = one time step = C contiguous channels (NHWC
 *   with N = H = 1, W = time). Kernels compute one frame per call unless they take `n`.
 * - The caller owns all memory (ring buffers, decoder tails); no kernel allocates.
 * - (multiplier, shift) pairs are TFLite's: real M = multiplier * 2^(shift - 31),
 *   multiplier in [2^30, 2^31) or 0, shift in [-31, 7], positive shift = left.
 * - *_offset fields are "minus the input zero point" for inputs and "plus the output zero
 *   point" for outputs, as in TFLite's params; act_min/act_max clamp the output integer
 *   (fused ReLU or the type's full range).
 * - Weights keep TFLite's layouts (listed per kernel) except the dense ones (pointwise,
 *   encoder), which are packed 4 rows at a time by export/intops_pack.py so one input load
 *   serves 4 rows, or, pruned, compressed (afkd_sparse_*_params below); int8 weights are
 *   symmetric (zero point 0). In the 16x8 mode all activation zero points are 0.
 * - The *_s8 convolutions take a *folded* bias: bias[c] + input_offset * sum_k w[c][k]
 *   (export/intops.py fold_input_offset), exact in int32, so the inner loop multiplies raw
 *   int8 values. This is valid because every tap reads a real input value (valid padding;
 *   causal history is initialised with the input zero point, which means real 0).
 */
#ifndef AFKD_KERNELS_H
#define AFKD_KERNELS_H

#include <stddef.h> /* NULL for the optional arrays */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- matrix-vector (conv) */

/*
 * A dense layer out[r] = act(requant(sum_k w[r][k] * x[k] + bias[r])), shared by the
 * pointwise conv (rows = Cout, cols = Cin, weights OHWI (Cout,1,1,Cin) = [Cout][Cin]) and
 * the encoder (rows = N, cols = L, weights (N,1,L,1) = [N][L]).
 */
/*
 * A firmware whose 16x8 convolutions all use int16-stored weights with SMMULR multipliers (the
 * exporter's default) is built with AFKD_S16_WEIGHTS16_ONLY=1 (generated CMakeLists.txt): the
 * kernels then leave out their int8-weight and int64 paths, about 6 KB of flash. Any model
 * runs correctly without it.
 */
/* 0 (the exporter's AFKD_S16_W8_WIDE=0 when no layer needs it): no 16x8 layer with int8-stored
 * weights has more than 64 columns, the assembly routine's limit, so the C group loop that serves
 * those layers stays out of the image (about 1.1 KB). */
#ifndef AFKD_S16_W8_WIDE
#define AFKD_S16_W8_WIDE 1
#endif
#if defined(AFKD_S16_WEIGHTS16_ONLY) && AFKD_S16_WEIGHTS16_ONLY
#define AFKD_S16_OTHER_LAYOUTS 0
#else
#define AFKD_S16_OTHER_LAYOUTS 1
#endif
/* 0 (the exporter's AFKD_S16_DENSE_W16=0 when no 16x8 1x1 or encoder layer keeps int16-stored
 * weights: --weight-storage int8, sparse or mixed): the dense kernel leaves out its int16-weight
 * paths. 0 (AFKD_S16_TAPS_W8=0 when every 16x8 depthwise and decoder layer keeps int16-stored
 * taps: storage int16 or mixed): those two kernels leave out their int8-tap paths. Either
 * switch is only for a model that has no such layer; the exporter sets them from the layers. */
#ifndef AFKD_S16_DENSE_W16
#define AFKD_S16_DENSE_W16 1
#endif
#ifndef AFKD_S16_TAPS_W8
#define AFKD_S16_TAPS_W8 1
#endif
#define AFKD_S16_TAPS_OTHER_LAYOUTS (AFKD_S16_OTHER_LAYOUTS && AFKD_S16_TAPS_W8)
/* Likewise for the int8 dense kernel: a firmware with no int16-stored weights (--weight-storage
 * int8 or sparse) is built with AFKD_S8_WEIGHTS8_ONLY=1 and the kernel leaves out its int16-weight
 * path (the widened input and the 16x8 assembly accumulation, about 1.2 KB); one whose weights are
 * all int16-stored (the default storage) with AFKD_S8_WEIGHTS16_ONLY=1, and it leaves out its
 * int8-weight paths. */
#if defined(AFKD_S8_WEIGHTS8_ONLY) && AFKD_S8_WEIGHTS8_ONLY
#define AFKD_S8_WEIGHTS16 0
#else
#define AFKD_S8_WEIGHTS16 1
#endif
#if defined(AFKD_S8_WEIGHTS16_ONLY) && AFKD_S8_WEIGHTS16_ONLY
#define AFKD_S8_WEIGHTS8 0
#else
#define AFKD_S8_WEIGHTS8 1
#endif

/* int8 weight arrays are word-aligned so the DSP loops may load them with LDRD
 * (afkd_dot.h); the generated model marks them with this. */
#if defined(__GNUC__) || defined(__clang__)
#define AFKD_ALIGN_WORD __attribute__((aligned(4)))
#else
#define AFKD_ALIGN_WORD
#endif

/* requant_32bit's value when every row's shift is negative as well (export/intops_pack.py
 * requant_mode_s8), and when moreover the clamp is the whole int8 range (one SSAT). */
#define AFKD_REQUANT_32BIT_RIGHT 2
#define AFKD_REQUANT_32BIT_RIGHT_FULL 3

typedef struct {
    int32_t rows;               /* output channels, >= 1 */
    int32_t cols;               /* input terms per output, 1 .. 65536 */
    const int8_t *weights;      /* packed (export/intops_pack.py): 4 rows interleaved */
    const int32_t *bias;        /* [rows] folded bias (see above) */
    const int32_t *multiplier;  /* [rows] per-channel input_scale*w_scale[r]/output_scale */
    const int32_t *shift;       /* [rows] */
    int32_t output_offset;      /* output zero point */
    int32_t act_min, act_max;   /* in [-128, 127] */
    /* Nonzero when the exporter proved (|bias[r]| + cols * 2^14) * 2^max(shift[r], 0) < 2^30
     * for every row (export/intops_pack.py requant_mode_s8): the output stage may then use
     * the 32-bit prepared requant (afkd_requant.h); AFKD_REQUANT_32BIT_RIGHT (2) when moreover
     * every shift[r] < 0 (one branch-free form for all rows), AFKD_REQUANT_32BIT_RIGHT_FULL (3)
     * when also act_min = -128 and act_max = 127. 0 is always correct, only slower. */
    int32_t requant_32bit;
    /* The weights sign-extended to int16 (export/intops_pack.py pack_dense_weights16), or NULL.
     * With it (`weights` NULL) the kernel widens the input frame to int16 once and runs the
     * LDM/SMLAD loop of the 16x8 kernels: same sums, about a third of the instructions. */
    const int16_t *weights16;
} afkd_dense_s8_params;

/*
 * 16x8 version: int16 activations (zero point 0), TFLite's int64 requant
 *   y = (acc * m16 + 2^(ts-1)) >> ts   (m16: multiplier rounded to 16 bits, ts = 15 - shift).
 * Bias: the exporter (export/intops_pack.py split_bias_s16) proves whether int32 holds
 * |bias| + cols * 2^22; then `bias` is int32 (NULL for none) and bias64 is NULL, and the
 * kernel accumulates in int32. Otherwise bias64 holds the int64 bias and the kernel
 * accumulates in int64 as TFLite does (cols <= 2^24 keeps |acc| < 2^47).
 */
typedef struct {
    int32_t rows, cols;
    const int8_t *weights;      /* packed (export/intops_pack.py, 16x8 byte order) */
    const int32_t *bias;        /* [rows] or NULL */
    const int64_t *bias64;      /* [rows] or NULL (see above) */
    const int16_t *multiplier;  /* [rows] m16 in [0, 0x7FFF] */
    const uint8_t *shift;       /* [rows] ts = 15 - TFLite shift, 8 .. 46 */
    int32_t act_min, act_max;   /* in [-32768, 32767] */
    /* [rows] m16 << (32 - ts), or NULL. The exporter emits it (and NULL multiplier and shift)
     * when bias64 is NULL and every row has 16 <= ts <= 32; then (acc * m16 + 2^(ts-1)) >> ts
     * = (acc * multiplier32 + 2^31) >> 32, one SMMULR per output (afkd_requant.h). */
    const int32_t *multiplier32;
    /* The weights stored as int16 (export/intops_pack.py pack_dense_weights16), or NULL.
     * With it and multiplier32 the kernel takes its fastest loop; `weights` is then NULL. */
    const int16_t *weights16;
} afkd_dense_s16_params;


/* Pointwise (1x1) conv = TFLite CONV_2D 1x1: in[cols] (one frame) -> out[rows]. */
void afkd_pointwise_s8(const afkd_dense_s8_params *p, const int8_t *in, int8_t *out);
void afkd_pointwise_s16(const afkd_dense_s16_params *p, const int16_t *in, int16_t *out);

/*
 * The same for the layout the exporter gives its 16x8 layers and checks before it calls these
 * (export/codegen.py, dense_w16_entry): int16-stored weights, a bias array, multiplier32, rows
 * and cols multiples of 4, cols <= 64, the int16 or the ReLU output range. On Cortex-M4 they
 * go straight to the assembly group routine (afkd_dense16_m4.h); anything else must call
 * afkd_pointwise_s16 / afkd_encoder_s16, which check every condition themselves.
 */
void afkd_pointwise_s16_w16(const afkd_dense_s16_params *p, const int16_t *in, int16_t *out);
void afkd_encoder_s16_w16(const afkd_dense_s16_params *p, const int16_t *window, int16_t *out);

/*
 * Encoder = TFLite CONV_2D kernel (1,L), stride (1,S), 1 input channel: one output frame
 * out[rows = N] from window[cols = L] input samples. The caller advances the window by S
 * samples per frame (stride); frame t reads samples [t*S, t*S + L) of the padded input.
 */
void afkd_encoder_s8(const afkd_dense_s8_params *p, const int8_t *window, int8_t *out);
void afkd_encoder_s16(const afkd_dense_s16_params *p, const int16_t *window, int16_t *out);

/* ---------------------------------------------------------------- sparse dense layers */

/*
 * A pruned pointwise or encoder layer with its weights compressed in flash
 * (export/intops_sparse.py; `afkd export --weight-storage sparse`): the same product and
 * output stage as the dense kernels above, which TFLite computes over the dense weights. Per
 * row r, the words bitmap[r * W .. r * W + W) (W = ceil(cols / 32)) have bit k of word j set
 * when w[r][32 j + k] != 0; `values` holds those nonzero weights, row after row, in column
 * order. Only the nonzero products are summed: the others are 0, so every sum, and so every
 * output, is the dense kernel's (and TFLite's) bit for bit; the bounds that the dense structs
 * state (int32 sums, requant_32bit, bias64) hold for these sums as they do for the full ones.
 * Flash: 4 W bytes per row + 1 per nonzero weight, against cols per row for int8 weights.
 */
typedef struct {
    afkd_dense_s8_params dense;  /* rows, cols and the output stage; weights, weights16 NULL */
    const uint32_t *bitmap;      /* [rows][W] nonzero-weight bits */
    const int8_t *values;        /* the nonzero weights, row-major */
} afkd_sparse_s8_params;

typedef struct {
    afkd_dense_s16_params dense; /* rows, cols and the output stage; weights, weights16 NULL */
    const uint32_t *bitmap;
    const int8_t *values;
} afkd_sparse_s16_params;

/* The pointwise conv or the encoder (in = the frame, or the encoder's window) from sparse weights. */
void afkd_dense_sparse_s8(const afkd_sparse_s8_params *p, const int8_t *in, int8_t *out);
void afkd_dense_sparse_s16(const afkd_sparse_s16_params *p, const int16_t *in, int16_t *out);

/* ---------------------------------------------------------------- depthwise */

/*
 * Causal dilated depthwise conv = TFLite DEPTHWISE_CONV_2D kernel (1,K), dilation (1,d),
 * depth multiplier 1, valid padding. taps[k] points at the frame t - (K-1-k)*d, so
 * taps[K-1] is the current frame; the caller keeps these frames in its ring buffer.
 * out[c] = act(requant(sum_k taps[k][c] * w[k][c] + bias[c])).
 */
typedef struct {
    int32_t channels;           /* C */
    int32_t taps;               /* K, 1 .. 16 */
    const int8_t *weights;      /* [K][C]: TFLite layout (1,1,K,C) */
    const int32_t *bias;        /* [C] folded bias */
    const int32_t *multiplier;  /* [C] */
    const int32_t *shift;       /* [C] */
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t requant_32bit;      /* as in afkd_dense_s8_params, with taps in place of cols */
} afkd_depthwise_s8_params;

/* 16x8: bias / bias64 and the (m16, ts) output stage as in afkd_dense_s16_params, with
 * taps * 2^22 in place of cols * 2^22. */
typedef struct {
    int32_t channels, taps;
    const int8_t *weights;      /* [K][C] */
    const int32_t *bias;        /* [C] or NULL */
    const int64_t *bias64;      /* [C] or NULL */
    const int16_t *multiplier;  /* [C] m16 */
    const uint8_t *shift;       /* [C] ts */
    int32_t act_min, act_max;
    const int32_t *multiplier32; /* [C] or NULL, as in afkd_dense_s16_params */
    /* The weights stored as int16 in channel pairs (for each pair c, c+1: the K words
     * [w_k[c] w_k[c+1]]; export/intops_pack.py pack_depthwise_weights16), or NULL: then
     * `weights` is NULL, and with multiplier32, a bias and an even C the kernel does two
     * channels per word (SMLABB/SMLATT). */
    const int16_t *weights16;
} afkd_depthwise_s16_params;


void afkd_depthwise_s8(const afkd_depthwise_s8_params *p, const int8_t *const *taps, int8_t *out);
void afkd_depthwise_s16(const afkd_depthwise_s16_params *p, const int16_t *const *taps,
                        int16_t *out);

/* ---------------------------------------------------------------- decoder */

/*
 * Decoder = TFLite TRANSPOSE_CONV (valid padding) N channels -> 1 channel, kernel L,
 * stride S (S <= L), as streaming overlap-add. Output sample j of the whole signal is
 * sum over frames t, taps k with t*S + k = j of (x_t . w[k]), plus bias once, requantized.
 * Per call: tail[k] += tap_offset[k] + w[k] . frame for k < L; then out[s] for s < S is
 * finished from tail[s] + bias; tail shifts left by S and its last S entries become 0.
 * The caller zeroes tail[L] once at start. After T frames, out holds samples [0, T*S).
 */
typedef struct {
    int32_t channels;           /* N */
    int32_t kernel;             /* L */
    int32_t stride;             /* S, 1 .. L */
    const int8_t *weights;      /* [L][N]: TFLite layout (1,1,L,N) (OHWI, O = 1) */
    const int32_t *tap_offset;  /* [L] input_offset * sum_c w[k][c] */
    int32_t bias;               /* added once per output sample */
    int32_t multiplier, shift;
    int32_t output_offset;
    int32_t act_min, act_max;
} afkd_decoder_s8_params;

typedef struct {
    int32_t channels, kernel, stride;
    const int8_t *weights;      /* [L][N] packed as a dense layer's (export/intops_pack.py) */
    int64_t bias;
    int32_t multiplier, shift;
    int32_t act_min, act_max;
    /* The same taps stored as int16 (export/intops_pack.py pack_dense_weights16), or NULL;
     * with it `weights` is NULL and the kernel takes its LDRD/SMLAD loop. */
    const int16_t *weights16;
    /* For afkd_decoder_s16_tail32 (0 otherwise): the output stage as one SMMULR,
     * m16 << (32 - ts) (export/intops_pack.py decoder_multiplier32_s16). */
    int32_t multiplier32;
} afkd_decoder_s16_params;


void afkd_decoder_s8(const afkd_decoder_s8_params *p, const int8_t *frame, int32_t *tail,
                     int8_t *out);
void afkd_decoder_s16(const afkd_decoder_s16_params *p, const int16_t *frame, int64_t *tail,
                      int16_t *out);
/* The same with an int32 tail, where the exporter proved it exact (|bias| + ceil(kernel /
 * stride) * channels * 2^22 < 2^31) and gave multiplier32; needs weights16. The state then
 * holds int32_t tail[kernel]: half the RAM, and no 64-bit arithmetic per step. */
void afkd_decoder_s16_tail32(const afkd_decoder_s16_params *p, const int16_t *frame, int32_t *tail,
                             int16_t *out);

/* ---------------------------------------------------------------- PReLU */

/*
 * TFLite PRELU (int8; TFLite's converter has no 16x8 PRELU): per channel c,
 *   v = in + input_offset;
 *   out = v >= 0 ? requant(v, m_pos, s_pos) : requant(v * alpha[c], m_neg, s_neg);
 *   out = clamp(out + output_offset, -128, 127)
 * alpha holds (alpha_q - alpha_zero_point); one shared value or one per channel.
 */
typedef struct {
    int32_t channels;
    int32_t alpha_per_channel;  /* 0: alpha[0] for all channels, 1: alpha[c] */
    const int16_t *alpha;       /* alpha_q - alpha_zero_point */
    int32_t input_offset, output_offset;
    int32_t multiplier_pos, shift_pos;  /* input_scale / output_scale */
    int32_t multiplier_neg, shift_neg;  /* input_scale * alpha_scale / output_scale */
    /* The same bits from one MLA, where the exporter proved it on all 256 inputs
     * (export/intops_linear.py; linear_shift 0: not available):
     *   acc = x >= linear_threshold ? x * k_pos + c_pos : x * k_neg + c_neg
     *   out = ssat8(acc >> linear_shift) */
    int32_t linear_shift, linear_threshold;
    int32_t linear_k_pos, linear_c_pos, linear_k_neg, linear_c_neg;
} afkd_prelu_s8_params;


void afkd_prelu_s8(const afkd_prelu_s8_params *p, const int8_t *in, int8_t *out);

/*
 * TFLite LEAKY_RELU (int8 and int16; the 16x8 graph's stand-in for a one-slope PReLU):
 *   v = in + input_offset
 *   y = v >= 0 ? requant(v, m_identity, s_identity) : requant(v, m_alpha, s_alpha)
 *   out = clamp(y + output_offset, type range)
 * m_alpha is negative for a negative slope (params: export/intops_leaky.py).
 * int16 only, when the exporter proved it on every int16 input (fast != 0), the same values
 * come from one SMLAW per value: branch(v) = sat16(whole * v + top16(round + (multiplier * v) >> 16))
 * (fast = 1: v >= 0 passes unchanged; fast = 2: v >= 0 takes the fast_pos_ branch).
 */
typedef struct {
    int32_t input_offset, output_offset;
    int32_t multiplier_identity, shift_identity;  /* input_scale / output_scale */
    int32_t multiplier_alpha, shift_alpha;        /* input_scale * alpha / output_scale */
    int32_t fast;                                 /* 0: TFLite's form; 1 or 2: see above */
    int32_t fast_neg_multiplier, fast_neg_round, fast_neg_whole;
    int32_t fast_pos_multiplier, fast_pos_round, fast_pos_whole;
} afkd_leaky_relu_params;

void afkd_leaky_relu_s8(const afkd_leaky_relu_params *p, const int8_t *in, int8_t *out,
                        int32_t n);
void afkd_leaky_relu_s16(const afkd_leaky_relu_params *p, const int16_t *in, int16_t *out,
                         int32_t n);

/*
 * A 16x8 depthwise layer and the LEAKY_RELU that reads its output, in one call: the same
 * values in `out` as afkd_depthwise_s16(p, taps, scratch) then afkd_leaky_relu_s16(q, scratch,
 * out, channels), which is what it does unless the Cortex-M4 routine takes the pair (a leaky
 * fast form it has and word-aligned frames; then `scratch` is not written). The exporter calls
 * it only for the layout it checked (export/codegen_steps.py, fused_depthwise_leaky): int16-stored
 * weights, a bias array, multiplier32, kernel 3, an even channel count, the int16 output range.
 */
void afkd_depthwise_leaky_s16(const afkd_depthwise_s16_params *p, const afkd_leaky_relu_params *q,
                              const int16_t *const *taps, int16_t *scratch, int16_t *out);

/* ---------------------------------------------------------------- sigmoid */

/*
 * TFLite LOGISTIC int8 (output scale 1/256, zero point -128): out[i] = table[(uint8_t)in[i]],
 * table from export/intops.py sigmoid_table_s8().
 */
void afkd_sigmoid_s8(const int8_t *table, const int8_t *in, int8_t *out, int32_t n);

/*
 * TFLite LOGISTIC int16 (input zero point 0, output scale 1/32768): the reference's
 * 256-entry sigmoid table with linear interpolation. Params from intops.sigmoid_params_s16.
 */
typedef struct {
    int32_t input_multiplier;   /* 0 means the power-of-two scale case */
    int32_t input_left_shift;
} afkd_sigmoid_s16_params;

void afkd_sigmoid_s16(const afkd_sigmoid_s16_params *p, const int16_t *in, int16_t *out,
                      int32_t n);

/* ---------------------------------------------------------------- add, mul */

/*
 * TFLite ADD (int8: left_shift 20; int16 general scale: left_shift 15):
 *   a' = requant((a + in1_offset) << left_shift, m1, s1), b' likewise,
 *   out = clamp(requant(a' + b', m_out, s_out) + output_offset, act_min, act_max).
 */
typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} afkd_add_params;

/*
 * int8 ADD: TFLite's parameters and, where the exporter proved it on all 65,536 input pairs
 * (export/intops_linear.py; linear_shift 0: not available), the same bits from two MLAs:
 *   out = clamp((a * linear_k1 + b * linear_k2 + linear_c) >> linear_shift, act_min, act_max)
 * A type of its own so that 16x8 models and SUB do not carry the four words.
 */
typedef struct {
    afkd_add_params tflite;
    int32_t linear_k1, linear_k2, linear_c, linear_shift;
} afkd_add_s8_params;

void afkd_add_s8(const afkd_add_s8_params *p, const int8_t *a, const int8_t *b, int8_t *out,
                 int32_t n);
void afkd_add_s16(const afkd_add_params *p, const int16_t *a, const int16_t *b, int16_t *out,
                  int32_t n);

/* TFLite MUL: out = clamp(requant((a+o1)*(b+o2), m, s) + output_offset, act_min, act_max). */
typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} afkd_mul_params;

void afkd_mul_s8(const afkd_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out,
                 int32_t n);
void afkd_mul_s16(const afkd_mul_params *p, const int16_t *a, const int16_t *b, int16_t *out,
                  int32_t n);

/* ---------------------------------------------------------------- one-window layers */

/*
 * The beat classifier runs once on a whole window (export/window_plan.py). Its window tensors
 * are (t, C) time-major, like the streaming frames one after another; a flattened tensor is
 * the same bytes. FULLY_CONNECTED is the dense kernel above (afkd_pointwise_*: a 1x1 conv over
 * one frame is a matrix-vector product), with cols = the flat input's length.
 */

/*
 * TFLite CONV_2D (1,K), stride (1,s), over a window: out position j reads the K*Cin values
 * padded[j*s*Cin ..] (contiguous in NHWC) and is one dense product with the [Cout][K*Cin]
 * OHWI weights, so the dense kernel computes it. The caller pads the input: 'same' padding
 * frames hold the input zero point (real 0), which is what TFLite's skipped taps contribute,
 * and keeps the folded int8 bias exact.
 */
typedef struct {
    int32_t out_steps;          /* output positions */
    int32_t step_values;        /* s * Cin: values between two positions' first taps */
    afkd_dense_s8_params dense; /* rows = Cout, cols = K * Cin */
} afkd_conv_s8_params;

typedef struct {
    int32_t out_steps, step_values;
    afkd_dense_s16_params dense;
} afkd_conv_s16_params;

void afkd_conv_s8(const afkd_conv_s8_params *p, const int8_t *padded, int8_t *out);
void afkd_conv_s16(const afkd_conv_s16_params *p, const int16_t *padded, int16_t *out);

/*
 * TFLite MAX_POOL_2D (1,P), stride (1,s), VALID, over (t_in, C): out[j][c] = clamp(max_k
 * in[j*s + k][c], act_min, act_max) (no requantization: same scale and zero point).
 */
typedef struct {
    int32_t channels, pool, stride, out_steps;
    int32_t act_min, act_max;
} afkd_max_pool_params;

void afkd_max_pool_s8(const afkd_max_pool_params *p, const int8_t *in, int8_t *out);
void afkd_max_pool_s16(const afkd_max_pool_params *p, const int16_t *in, int16_t *out);

/*
 * TFLite MEAN of `count` values to one (TFLM reference QuantizedMeanOrSum, keep_dims):
 *   out = clamp(requant(sum(in) - input_zero_point * count, m, s) + output_zero_point)
 * where (m, s) already hold the 1/count (export/intops_window.py mean_params). The sum is
 * int32 as in TFLM: |sum| <= count * 2^16 for int16, so count < 2^15 is safe.
 */
typedef struct {
    int32_t count;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
} afkd_mean_params;

void afkd_mean_s8(const afkd_mean_params *p, const int8_t *in, int8_t *out);
void afkd_mean_s16(const afkd_mean_params *p, const int16_t *in, int16_t *out);

/*
 * TFLite SUB (reference Sub / BroadcastQuantSubSlow): ADD's parameters (afkd_add_params) and
 * arithmetic with the scaled second input subtracted. b_step 1: b[n] element-wise; b_step 0:
 * b[0] for every element (a window minus its mean).
 */
void afkd_sub_s8(const afkd_add_params *p, const int8_t *a, const int8_t *b, int32_t b_step, int8_t *out,
                 int32_t n);
void afkd_sub_s16(const afkd_add_params *p, const int16_t *a, const int16_t *b, int32_t b_step, int16_t *out,
                  int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* AFKD_KERNELS_H */
