using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace NeuralCore.Kernels;

/// <summary>
/// Element-wise activation functions and their backward passes, over spans of any length (forward may run in place;
/// backward may write over <c>outputGrad</c>). Backward passes take whichever of the forward input x and output y
/// gives the derivative most directly.
/// </summary>
public static class Activations
{
    /// <summary>Logistic sigmoid: <c>y = 1 / (1 + exp(-x))</c>; <paramref name="destination"/> may be <paramref name="x"/> itself.</summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short, or overlaps the input at another start.</exception>
    /// <remarks>
    /// In double, the exponential vectorized, every element on the vector path as <see cref="Tanh"/> is:
    /// <see cref="TensorPrimitives.Sigmoid(ReadOnlySpan{float}, Span{float})"/> took a scalar path for spans shorter than
    /// a vector, so a sample's probability depended on the batch around it (14 of 64 samples of a Dense-Sigmoid model
    /// predicted other bits alone than in the batch; up to 3 ulps from the correctly rounded value). The double
    /// exponential costs time: 108 against 33 µs for 128 × 1,000 values (best of 50, warm; AMD EPYC Zen 5, one thread).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> destination) => InDouble<SigmoidMap>(x, destination);

    /// <summary>Sigmoid backward from the output: <c>dx = dy·y·(1 - y)</c>.</summary>
    /// <param name="y">The forward output.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="y"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="y"/>.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> outputGrad, Span<float> destination) =>
        SigmoidBackward(y, outputGrad, destination, KernelIsaSupport.Widest);

    /// <summary><see cref="SigmoidBackward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> outputGrad, Span<float> destination, KernelIsa isa)
    {
        CheckBackward(y, nameof(y), outputGrad, destination);
        ElementwiseDriver.Binary<SigmoidGradOperator>(y, outputGrad, destination, isa);
    }

    /// <summary>Hyperbolic tangent: <c>y = tanh(x)</c>; <paramref name="destination"/> may be <paramref name="x"/> itself.</summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <remarks>
    /// <c>1 - 2/(e^(2x) + 1)</c> in double, the exponential vectorized (<c>TensorPrimitives.Exp</c> over doubles),
    /// and <c>x·(1 - x²/3)</c> below 1e-4, where the first form would cancel: within an ulp or two of the exact value.
    /// <see cref="TensorPrimitives.Tanh(ReadOnlySpan{float}, Span{float})"/> was off by about 6e-8 near 0 (tanh(0) gave
    /// -5.96e-8, tanh(1e-5) 9.954e-6, tanh(1/16) ten ulps high), and took an exact scalar path for spans shorter than
    /// a vector, so a sample's output depended on the batch around it; here a short span is padded to 16, and every
    /// element takes the vector path. It is computed on |x| and the sign copied, so it is odd bit for bit. The double
    /// exponential costs time: 170-189 against 78 µs for 128 × 1,000 values (best of 50, warm; AMD EPYC Zen 5, one thread).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tanh(ReadOnlySpan<float> x, Span<float> destination) => InDouble<TanhMap>(x, destination);

    /// <summary>A function computed in double over a chunk (<see cref="InDouble"/>), then finished in float.</summary>
    private interface IDoubleMap
    {
        /// <summary>The function over <paramref name="t"/>, in place (the chunk's inputs, widened).</summary>
        static abstract void Apply(Span<double> t);

        /// <summary>Fixes <paramref name="output"/> (the rounded results) from <paramref name="input"/> where the double form falls short.</summary>
        static abstract void Finish(ReadOnlySpan<float> input, Span<float> output);
    }

    private readonly struct TanhMap : IDoubleMap
    {
        // On |x|, the sign copied in Finish: tanh is odd, bit for bit.
        public static void Apply(Span<double> t)
        {
            TensorPrimitives.Abs(t, t);
            TensorPrimitives.Multiply(t, 2.0, t);
            TensorPrimitives.Exp(t, t);
            TensorPrimitives.Add(t, 1.0, t);
            TensorPrimitives.Divide(2.0, t, t);
            TensorPrimitives.Subtract(1.0, t, t);
        }

        public static void Finish(ReadOnlySpan<float> input, Span<float> output)
        {
            for (int k = 0; k < output.Length; k++)
            {
                float v = input[k];
                if (MathF.Abs(v) < 1e-4f)
                {
                    double d = Math.Abs((double)v);
                    output[k] = (float)(d * (1 - (d * d / 3)));
                }
            }

            TensorPrimitives.CopySign(output, input, output);
        }
    }

    private readonly struct SigmoidMap : IDoubleMap
    {
        public static void Apply(Span<double> t)
        {
            TensorPrimitives.Negate(t, t);
            TensorPrimitives.Exp(t, t);
            TensorPrimitives.Add(t, 1.0, t);
            TensorPrimitives.Divide(1.0, t, t);
        }

        public static void Finish(ReadOnlySpan<float> input, Span<float> output)
        {
        }
    }

    /// <summary>
    /// <typeparamref name="TMap"/> over <paramref name="x"/> in chunks of 256 widened to double. A tail shorter than a
    /// vector joins the chunk before it and a span shorter than one is padded with zeros, so that every element takes
    /// <c>TensorPrimitives</c>' vector path whatever the span's length: a sample's value never depends on its batch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void InDouble<TMap>(ReadOnlySpan<float> x, Span<float> destination)
        where TMap : struct, IDoubleMap
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        if (x.Overlaps(destination, out int shift) && shift != 0)
        {
            // Chunk by chunk, a shifted overlap would read values already written.
            throw new ArgumentException("The destination overlaps the input at another start; give a separate span, or the input itself.", nameof(destination));
        }

        const int Chunk = 256, Padded = 16;
        Span<double> work = stackalloc double[Chunk + Padded];
        Span<float> input = stackalloc float[Chunk + Padded];
        Span<float> output = stackalloc float[Chunk + Padded];
        for (int i = 0; i < x.Length;)
        {
            int n = x.Length - i <= Chunk + Padded ? x.Length - i : Chunk;
            int length = Math.Max(n, Padded);
            x.Slice(i, n).CopyTo(input);
            input[n..length].Clear();
            Span<double> t = work[..length];
            TensorPrimitives.ConvertChecked<float, double>(input[..length], t);
            TMap.Apply(t);
            TensorPrimitives.ConvertTruncating<double, float>(t, output[..length]);
            TMap.Finish(input[..n], output[..n]);
            output[..n].CopyTo(destination.Slice(i, n));
            i += n;
        }
    }

    /// <summary>Tanh backward from the output: <c>dx = dy·(1 - y²)</c>.</summary>
    /// <param name="y">The forward output.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="y"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="y"/>.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> outputGrad, Span<float> destination) =>
        TanhBackward(y, outputGrad, destination, KernelIsaSupport.Widest);

    /// <summary><see cref="TanhBackward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> outputGrad, Span<float> destination, KernelIsa isa)
    {
        CheckBackward(y, nameof(y), outputGrad, destination);
        ElementwiseDriver.Binary<TanhGradOperator>(y, outputGrad, destination, isa);
    }

    /// <summary>
    /// Keras's ReLU with all its options: <c>y = maxValue</c> for <c>x ≥ maxValue</c>, <c>x</c> for
    /// <c>threshold ≤ x &lt; maxValue</c>, <c>slope·(x - threshold)</c> below; NaN stays NaN.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>.</param>
    /// <param name="negativeSlope">The slope below the threshold (0: plain ReLU; LeakyReLU's alpha).</param>
    /// <param name="threshold">Where the identity starts.</param>
    /// <param name="maxValue">The cap (<see cref="float.PositiveInfinity"/> for none).</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is NaN, or <paramref name="maxValue"/> is below <paramref name="threshold"/> (the layer refuses both too).</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu(ReadOnlySpan<float> x, Span<float> destination, float negativeSlope, float threshold, float maxValue)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        CheckRelu(negativeSlope, threshold, maxValue);
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            // Without a slope, below the threshold is +0: 0·(x - threshold) gave NaN at -∞ and -0 for negative x, where
            // Keras, PyTorch and this model's own ONNX export (Clip) give 0.
            destination[i] = v >= maxValue ? maxValue : v >= threshold ? v : float.IsNaN(v) ? v : negativeSlope == 0f ? 0f : negativeSlope * (v - threshold);
        }
    }

    /// <summary>
    /// Backward of <see cref="Relu(ReadOnlySpan{float}, Span{float}, float, float, float)"/> from the input:
    /// <c>dx = dy</c> where <c>threshold &lt; x &lt; maxValue</c>, <c>slope·dy</c> where <c>x ≤ threshold</c>, 0 where
    /// <c>x ≥ maxValue</c> (at the threshold the lower side's derivative, at the cap the upper side's, as TensorFlow's and
    /// PyTorch's relu6 take it); <c>dy</c> at +∞ without a cap, as the plain ReLU; 0 where x is NaN, as the plain ReLU.
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <param name="negativeSlope">The slope below the threshold.</param>
    /// <param name="threshold">Where the identity starts.</param>
    /// <param name="maxValue">The cap.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is NaN, or <paramref name="maxValue"/> is below <paramref name="threshold"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination,
        float negativeSlope, float threshold, float maxValue)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        CheckRelu(negativeSlope, threshold, maxValue);
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            // Without a cap (maxValue = +∞), +∞ is on the identity: LeakyReLU's gradient there read 0 (+∞ >= +∞).
            destination[i] = v >= maxValue && maxValue != float.PositiveInfinity ? 0f
                : v > threshold ? outputGrad[i] : v <= threshold ? negativeSlope * outputGrad[i] : 0f;
        }
    }

    /// <summary>
    /// GELU: exactly <c>y = x·Φ(x) = ½x·erfc(-x/√2)</c> (erfc, not <c>1 + erf</c>, which cancels for negative x and
    /// lost all relative accuracy below -8), or with <paramref name="approximate"/> the tanh form
    /// <c>½x(1 + tanh(√(2/π)(x + 0.044715x³)))</c> (Keras's <c>gelu(x, approximate)</c>).
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>.</param>
    /// <param name="approximate">Use the tanh approximation.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> destination, bool approximate)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            destination[i] = (float)(approximate
                ? 0.5 * v * (1 + Math.Tanh(SqrtTwoOverPi * (v + (0.044715 * v * v * v))))
                : 0.5 * v * Erfc(-v / Math.Sqrt(2)));
        }
    }

    /// <summary>GELU backward from the input: <c>dx = dy·(Φ(x) + x·φ(x))</c>, or the tanh form's derivative.</summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <param name="approximate">Whether the forward used the tanh approximation.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination, bool approximate)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i], derivative;
            if (approximate)
            {
                double inner = SqrtTwoOverPi * (v + (0.044715 * v * v * v));
                double t = Math.Tanh(inner);
                derivative = (0.5 * (1 + t)) + (0.5 * v * (1 - (t * t)) * SqrtTwoOverPi * (1 + (3 * 0.044715 * v * v)));
            }
            else
            {
                derivative = (0.5 * Erfc(-v / Math.Sqrt(2))) + (v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI));
            }

            destination[i] = (float)(outputGrad[i] * derivative);
        }
    }

    /// <summary>
    /// ELU: <c>y = x</c> for <c>x &gt; 0</c>, <c>α(eˣ - 1)</c> otherwise (Keras's <c>elu</c> and <c>ELU</c> layer); with
    /// <paramref name="scale"/> λ, <c>λ·</c> that (SELU: α = 1.6732632, λ = 1.0507010). In double, <c>eˣ - 1</c> from its
    /// series near 0, where the subtraction would cancel.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    /// <param name="alpha">α, the value approached as x → -∞ (before the scale).</param>
    /// <param name="scale">λ; 1 for ELU.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Elu(ReadOnlySpan<float> x, Span<float> destination, float alpha, float scale = 1f)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            destination[i] = (float)(scale * (v > 0 ? v : alpha * ExpMinusOne(v)));
        }
    }

    /// <summary>
    /// ELU (or SELU) backward from the input: <c>dx = λ·dy</c> for <c>x &gt; 0</c>, <c>λ·α·eˣ·dy</c> otherwise (at 0 the
    /// lower side's derivative, as TensorFlow and PyTorch take it).
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <param name="alpha">α.</param>
    /// <param name="scale">λ.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void EluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination, float alpha, float scale = 1f)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            destination[i] = (float)(scale * (v > 0 ? 1 : alpha * Math.Exp(v)) * outputGrad[i]);
        }
    }

    /// <summary>
    /// SiLU (swish): <c>y = x·σ(x) = x / (1 + e⁻ˣ)</c> (Keras's <c>silu</c>), in double; <c>y = +∞</c> at +∞ and NaN at
    /// -∞ (-∞·0), as Keras, PyTorch and the exported ONNX graph compute it.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Silu(ReadOnlySpan<float> x, Span<float> destination)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            destination[i] = (float)(v / (1 + Math.Exp(-v)));
        }
    }

    /// <summary>SiLU backward from the input: <c>dx = dy·σ(x)·(1 + x·(1 - σ(x)))</c>; NaN at ±∞ (∞·0), as PyTorch's autograd gives.</summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void SiluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double s = 1 / (1 + Math.Exp(-v));
            destination[i] = (float)(s * (1 + (v * (1 - s))) * outputGrad[i]);
        }
    }

    /// <summary>
    /// Softplus: <c>y = ln(1 + eˣ)</c> (Keras's <c>softplus</c>), as <c>max(x, 0) + ln(1 + e^-|x|)</c> in double, the
    /// logarithm from its series where <c>e^-|x|</c> is tiny (so y = 2e-20 at x = -45, not 0).
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Softplus(ReadOnlySpan<float> x, Span<float> destination)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        for (int i = 0; i < x.Length; i++)
        {
            destination[i] = (float)SoftplusOf(x[i]);
        }
    }

    /// <summary>Softplus backward from the input: <c>dx = dy·σ(x)</c>.</summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void SoftplusBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        for (int i = 0; i < x.Length; i++)
        {
            destination[i] = (float)(outputGrad[i] / (1 + Math.Exp(-(double)x[i])));
        }
    }

    /// <summary>
    /// Softsign: <c>y = x / (1 + |x|)</c> (Keras's <c>softsign</c>), in double; NaN at ±∞ (∞/∞), as Keras, PyTorch and
    /// ONNX's <c>Softsign</c> compute it.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Softsign(ReadOnlySpan<float> x, Span<float> destination)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            destination[i] = (float)(v / (1 + Math.Abs(v)));
        }
    }

    /// <summary>Softsign backward from the input: <c>dx = dy / (1 + |x|)²</c>; 0 at ±∞.</summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void SoftsignBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        for (int i = 0; i < x.Length; i++)
        {
            double d = 1 + Math.Abs((double)x[i]);
            destination[i] = (float)(outputGrad[i] / (d * d));
        }
    }

    /// <summary>
    /// Hard sigmoid in Keras 3's form: <c>y = relu6(x + 3) / 6</c>, 0 below -3, 1 above 3 and linear between (Keras 2's
    /// and ONNX's default slope was 0.2).
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void HardSigmoid(ReadOnlySpan<float> x, Span<float> destination)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        for (int i = 0; i < x.Length; i++)
        {
            destination[i] = HardSigmoidOf(x[i]);
        }
    }

    /// <summary>Hard sigmoid backward: <c>dx = dy / 6</c> strictly between -3 and 3, else 0 (ReLU6's derivative at its kinks, as TensorFlow's and PyTorch's).</summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void HardSigmoidBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            destination[i] = v > -3f && v < 3f ? outputGrad[i] / 6f : float.IsNaN(v) ? float.NaN : 0f;
        }
    }

    /// <summary>
    /// Hard SiLU (hard swish), Keras 3's <c>hard_silu</c>: <c>y = x·relu6(x + 3) / 6</c>; NaN at -∞ (-∞·0), as Keras,
    /// PyTorch and ONNX's <c>HardSwish</c> compute it.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void HardSilu(ReadOnlySpan<float> x, Span<float> destination)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            destination[i] = (float)(v * (double)HardSigmoidOf(v));
        }
    }

    /// <summary>
    /// Hard SiLU backward, as automatic differentiation of <c>x·relu6(x + 3)/6</c> gives it (Keras's):
    /// <c>dx = dy·(relu6(x + 3)/6 + x/6)</c> strictly between -3 and 3, <c>dy</c> from 3 up, 0 up to -3 (PyTorch 1.13's
    /// own kernel gives -0.5 at exactly -3).
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void HardSiluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double d = v > -3 && v < 3 ? (((v + 3) / 6) + (v / 6)) : v >= 3 ? 1 : v <= -3 ? 0 : double.NaN;
            destination[i] = (float)(outputGrad[i] * d);
        }
    }

    // relu6(x + 3) / 6 in float, as Keras computes it (NaN stays NaN).
    private static float HardSigmoidOf(float x) => float.IsNaN(x) ? x : Math.Clamp(x + 3f, 0f, 6f) / 6f;

    /// <summary>
    /// Mish (Misra 2019), Keras's <c>mish</c>: <c>y = x·tanh(softplus(x))</c>, in double (softplus as
    /// <see cref="Softplus"/>); NaN at -∞ (-∞·0), as Keras and PyTorch compute it.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="destination">y, at least as long as <paramref name="x"/>; may be <paramref name="x"/> itself.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static void Mish(ReadOnlySpan<float> x, Span<float> destination)
    {
        ThrowHelper.CheckLength(destination.Length, x.Length, nameof(destination));
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            destination[i] = (float)(v * Math.Tanh(SoftplusOf(v)));
        }
    }

    /// <summary>
    /// Mish backward from the input: <c>dx = dy·(tanh(sp) + x·σ(x)·(1 - tanh²(sp)))</c> with <c>sp = softplus(x)</c>;
    /// NaN at -∞, as PyTorch's autograd gives.
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, as long as <paramref name="x"/>.</param>
    /// <param name="destination">dx, at least as long as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">A length does not match.</exception>
    public static void MishBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> destination)
    {
        CheckBackward(x, nameof(x), outputGrad, destination);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            double t = Math.Tanh(SoftplusOf(v));
            double s = 1 / (1 + Math.Exp(-v));
            destination[i] = (float)(outputGrad[i] * (t + (v * s * (1 - (t * t)))));
        }
    }

    // ln(1 + eˣ) in double, as Softplus computes it.
    private static double SoftplusOf(double v)
    {
        double t = Math.Exp(-Math.Abs(v));
        return Math.Max(v, 0) + (t < 1e-5 ? t * (1 - (t * (0.5 - (t / 3)))) : Math.Log(1 + t));
    }

    // eˣ - 1, from its series where the subtraction would cancel (|x| < 1e-5: four terms are exact to double rounding).
    private static double ExpMinusOne(double x) =>
        Math.Abs(x) < 1e-5 ? x * (1 + (x * (0.5 + (x * ((1.0 / 6) + (x / 24)))))) : Math.Exp(x) - 1;

    private static readonly double SqrtTwoOverPi = Math.Sqrt(2 / Math.PI);

    /// <summary>
    /// The error function to within 2e-12 (W. J. Cody's rational approximations, as in most libm implementations),
    /// which .NET does not provide; float outputs are then correctly rounded or within an ulp.
    /// </summary>
    internal static double Erf(double x) => Math.Abs(x) < 0.5 ? ErfNearZero(x) : Math.CopySign(1 - ErfcAbove(Math.Abs(x)), x);

    /// <summary>
    /// The complementary error function <c>1 - erf(x)</c>, with the relative accuracy of Cody's approximations in the
    /// tail, where <c>1 - erf(x)</c> computed from erf cancels: erfc(8) = 1.1e-29 is computed, not 0.
    /// </summary>
    internal static double Erfc(double x) => Math.Abs(x) < 0.5 ? 1 - ErfNearZero(x) : x > 0 ? ErfcAbove(x) : 2 - ErfcAbove(-x);

    // erf(x) = x·P(x²)/Q(x²) for |x| < 0.5.
    private static double ErfNearZero(double x)
    {
        double z = x * x;
        double p = (((((1.85777706184603153e-1 * z) + 3.16112374387056560) * z) + 1.13864154151050156e2) * z) + 3.77485237685302021e2;
        p = (p * z) + 3.20937758913846947e3;
        double q = (((((z + 2.36012909523441209e1) * z) + 2.44024637934444173e2) * z) + 1.28261652607737228e3) * z;
        q += 2.84423683343917062e3;
        return x * p / q;
    }

    // erfc(ax) for ax ≥ 0.5 (and +∞, which gives 0).
    private static double ErfcAbove(double ax)
    {
        if (ax < 4)
        {
            double p = (((((((5.64188496988670089e-1 * ax) + 8.88314979438837594) * ax) + 6.61191906371416295e1) * ax) + 2.98635138197400131e2) * ax) + 8.81952221241769090e2;
            p = (((p * ax) + 1.71204761263407058e3) * ax) + 2.05107837782607147e3;
            p = (p * ax) + 1.23033935479799725e3;
            double q = (((((((ax + 1.57449261107098347e1) * ax) + 1.17693950891312499e2) * ax) + 5.37181101862009858e2) * ax) + 1.62138957456669019e3) * ax;
            q = (((q + 3.29079923573345963e3) * ax) + 4.36261909014324716e3) * ax;
            q = (((q + 3.43936767414372164e3) * ax) + 1.23033935480374942e3);
            return Math.Exp(-ax * ax) * p / q;
        }

        double z = 1 / (ax * ax);
        double pt = (((((1.63153871373020978e-2 * z) + 3.05326634961232344e-1) * z) + 3.60344899949804439e-1) * z) + 1.25781726111229246e-1;
        pt = (((pt * z) + 1.60837851487422766e-2) * z) + 6.58749161529837803e-4;
        double qt = (((((z + 2.56852019228982242) * z) + 1.87295284992346725) * z) + 5.27905102951428412e-1) * z;
        qt = (((qt + 6.05183413124413191e-2) * z) + 2.33520497626869185e-3);
        return Math.Exp(-ax * ax) / ax * ((1 / Math.Sqrt(Math.PI)) - (z * pt / qt));
    }

    // A cap below the threshold gave the cap for every input, and a NaN setting NaN outputs: the Relu layer refused
    // both, the kernel did not.
    private static void CheckRelu(float negativeSlope, float threshold, float maxValue)
    {
        Check.Number(negativeSlope, nameof(negativeSlope), "a number");
        Check.Number(threshold, nameof(threshold), "a number");
        Check.InRange(maxValue, threshold, float.PositiveInfinity, "[]", nameof(maxValue), "a maxValue at or above the threshold");
    }

    private static void CheckBackward(ReadOnlySpan<float> reference, string referenceName, ReadOnlySpan<float> outputGrad, Span<float> destination)
    {
        if (outputGrad.Length != reference.Length)
        {
            ThrowHelper.ThrowLengthMismatch(nameof(outputGrad), outputGrad.Length, referenceName, reference.Length);
        }

        ThrowHelper.CheckLength(destination.Length, reference.Length, nameof(destination));
    }
}
