using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Kernels;

/// <summary>
/// Fused optimizer updates over flat parameter and gradient arenas: one pass reads each parameter, gradient and
/// state element once.
/// </summary>
/// <remarks>
/// Every lane performs the scalar loop's IEEE operations in the same order (no fused multiply-add), so results do not
/// depend on the vector width, the range an update is split into, or the thread that runs it.
/// </remarks>
public static class OptimizerKernels
{
    /// <summary>
    /// Lion's momentum below this magnitude, the smallest normal float (2^-126), is flushed to zero: Lion's step is ±lr
    /// whatever m's size, so <see cref="MomentFloor"/> would stop a weight whose gradient has gone quiet where Keras
    /// does not. Only subnormals are flushed, as TensorFlow's CPU kernels (which set flush-to-zero) flush them: a
    /// momentum of 1e-3 decaying at β2 = 0.99 moves its weight for about 8,000 steps, as there.
    /// </summary>
    public const float LionFloor = 1.17549435e-38f;

    /// <summary>Adam moments below this magnitude are flushed to zero, so they never become subnormal (see <see cref="AdamUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float)"/>).</summary>
    public const float MomentFloor = 1e-30f;

    /// <summary>
    /// One Adam step in Keras's form, for every element <c>i</c>:
    /// <c>m = m + (g - m)·(1 - β1)</c>; <c>v = v + (g² - v)·(1 - β2)</c>; <c>θ = θ - α·m / (√v + ε)</c>, where the caller passes
    /// <c>α = lr·√(1 - β2^t) / (1 - β1^t)</c> for step <c>t</c> (1-based). As in Keras, ε is added to the uncorrected √v.
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="firstMoment">m, as long as <paramref name="parameters"/>, updated in place.</param>
    /// <param name="secondMoment">v, as long as <paramref name="parameters"/>, updated in place.</param>
    /// <param name="alpha">The bias-corrected step size α.</param>
    /// <param name="beta1">β1, in [0, 1).</param>
    /// <param name="beta2">β2, in [0, 1).</param>
    /// <param name="epsilon">ε, positive.</param>
    /// <remarks>
    /// Moments smaller than <see cref="MomentFloor"/> in magnitude are stored as zero. .NET cannot switch the CPU to
    /// flush-to-zero, and on x86 every operation on a subnormal float costs about a hundred cycles: the moments of
    /// weights whose gradient has gone quiet (MNIST's border pixels, dead ReLU units) decay geometrically into that
    /// range, and on MNIST ~2.5% of the state sat there after one epoch, which made the whole training step several
    /// times slower. A moment below 1e-30 changes a parameter by less than 1e-26, so the update is unaffected. A NaN
    /// moment is not below the floor: it stays NaN, as in PyTorch and Keras (flushed, a NaN gradient had wiped m and v).
    /// </remarks>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdamUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float alpha, float beta1, float beta2, float epsilon) =>
        AdamUpdate(parameters, gradients, firstMoment, secondMoment, alpha, beta1, beta2, epsilon, KernelIsaSupport.Widest);

    /// <summary><see cref="AdamUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void AdamUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float alpha, float beta1, float beta2, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(firstMoment.Length, length, nameof(firstMoment));
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));

        ElementwiseDriver.Run(new AdamStep(parameters, gradients, firstMoment, secondMoment, alpha, beta1, beta2, epsilon), length, isa);
    }

    /// <summary>
    /// One LAMB step over one variable in Keras's form, for every element <c>i</c>: the moments as Adam's
    /// (<c>m = m + (g - m)·(1 - β1)</c>, <c>v = v + (g² - v)·(1 - β2)</c>, flushed below <see cref="MomentFloor"/>),
    /// the update <c>u = (m / c1) / (√(v / c2) + ε)</c> with <c>c1 = 1 - β1^t</c> and <c>c2 = 1 - β2^t</c>, and
    /// <c>θ = θ - step·u</c>, where the caller passes <c>step = r·lr</c> with the variable's trust ratio <c>r</c>
    /// (<see cref="LambNorms(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, float, float, float, float, float, float)"/>).
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="firstMoment">m, updated in place.</param>
    /// <param name="secondMoment">v, updated in place.</param>
    /// <param name="step">r·lr.</param>
    /// <param name="beta1">β1.</param>
    /// <param name="beta2">β2.</param>
    /// <param name="correction1">c1 = 1 - β1^t, positive.</param>
    /// <param name="correction2">c2 = 1 - β2^t, positive.</param>
    /// <param name="epsilon">ε, positive.</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LambUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float step, float beta1, float beta2, float correction1, float correction2, float epsilon) =>
        LambUpdate(parameters, gradients, firstMoment, secondMoment, step, beta1, beta2, correction1, correction2, epsilon, KernelIsaSupport.Widest);

    /// <summary><see cref="LambUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void LambUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float step, float beta1, float beta2, float correction1, float correction2, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(firstMoment.Length, length, nameof(firstMoment));
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));
        ElementwiseDriver.Run(new LambStep(parameters, gradients, firstMoment, secondMoment, step, beta1, beta2, correction1, correction2, epsilon), length, isa);
    }

    /// <summary>
    /// The squared norms a LAMB step's trust ratio <c>r = ‖θ‖ / ‖u‖</c> (1 where either is 0) is made of, read before
    /// the step without changing anything: <c>Σθ'²</c> of the parameters after decoupled weight decay
    /// (<c>θ' = θ - θ·decay</c>, θ itself at decay 0) and <c>Σu²</c> of the updates
    /// <see cref="LambUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, float)"/>
    /// will apply. Each is summed in double in 16 running sums (element i into sum <c>i mod 16</c>, in element order)
    /// added together in one fixed order, so the result is the same bits at every vector width.
    /// </summary>
    /// <param name="parameters">θ.</param>
    /// <param name="gradients">g.</param>
    /// <param name="firstMoment">m before the step.</param>
    /// <param name="secondMoment">v before the step.</param>
    /// <param name="decay">The decoupled weight decay's factor (weight decay × learning rate), or 0.</param>
    /// <param name="beta1">β1.</param>
    /// <param name="beta2">β2.</param>
    /// <param name="correction1">c1 = 1 - β1^t.</param>
    /// <param name="correction2">c2 = 1 - β2^t.</param>
    /// <param name="epsilon">ε.</param>
    /// <returns>Σθ'² and Σu².</returns>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    public static (double ParameterSquares, double UpdateSquares) LambNorms(
        ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients, ReadOnlySpan<float> firstMoment, ReadOnlySpan<float> secondMoment,
        float decay, float beta1, float beta2, float correction1, float correction2, float epsilon) =>
        LambNorms(parameters, gradients, firstMoment, secondMoment, decay, beta1, beta2, correction1, correction2, epsilon, KernelIsaSupport.Widest);

    /// <summary><see cref="LambNorms(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, float, float, float, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (double ParameterSquares, double UpdateSquares) LambNorms(
        ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients, ReadOnlySpan<float> firstMoment, ReadOnlySpan<float> secondMoment,
        float decay, float beta1, float beta2, float correction1, float correction2, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(firstMoment.Length, length, nameof(firstMoment));
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));
        var step = new LambNormStep(parameters, gradients, firstMoment, secondMoment, decay, beta1, beta2, correction1, correction2, epsilon);
        Span<double> sums = stackalloc double[2 * LambSums];
        sums.Clear();
        ref double thetas = ref sums[0], updates = ref sums[LambSums];

        // Whole blocks of 16 at the vector width (each vector's lanes into the sums of their positions), the rest one by one.
        int blocks = length / LambSums * LambSums;
        switch (isa)
        {
            case KernelIsa.Vector512:
                LambNormBlocks<Lanes512>(step, blocks, ref thetas, ref updates);
                break;
            case KernelIsa.Vector256:
                LambNormBlocks<Lanes256>(step, blocks, ref thetas, ref updates);
                break;
            case KernelIsa.Vector128:
                LambNormBlocks<Lanes128>(step, blocks, ref thetas, ref updates);
                break;
            default:
                LambNormBlocks<Lane1>(step, blocks, ref thetas, ref updates);
                break;
        }

        for (int i = blocks; i < length; i++)
        {
            step.Add<Lane1>((nuint)i, ref Unsafe.Add(ref thetas, i - blocks), ref Unsafe.Add(ref updates, i - blocks));
        }

        return (SumInOrder(sums[..LambSums]), SumInOrder(sums[LambSums..]));
    }

    /// <summary>The naive <see cref="LambNorms(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, float, float, float, float, float, float)"/>: element by element into sum <c>i mod 16</c>.</summary>
    internal static (double ParameterSquares, double UpdateSquares) LambNormsReference(
        ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients, ReadOnlySpan<float> firstMoment, ReadOnlySpan<float> secondMoment,
        float decay, float beta1, float beta2, float correction1, float correction2, float epsilon)
    {
        double[] thetas = new double[LambSums], updates = new double[LambSums];
        for (int i = 0; i < parameters.Length; i++)
        {
            float theta = decay != 0f ? parameters[i] - (parameters[i] * decay) : parameters[i];
            float m = firstMoment[i] + ((gradients[i] - firstMoment[i]) * (1f - beta1));
            float v = secondMoment[i] + (((gradients[i] * gradients[i]) - secondMoment[i]) * (1f - beta2));
            m = Math.Abs(m) < MomentFloor ? 0f : m;
            v = v < MomentFloor ? 0f : v;
            float u = m / correction1 / (MathF.Sqrt(v / correction2) + epsilon);
            thetas[i % LambSums] += (double)theta * theta;
            updates[i % LambSums] += (double)u * u;
        }

        return (SumInOrder(thetas), SumInOrder(updates));
    }

    // The running sums of LambNorms, and their fixed order of addition.
    private const int LambSums = 16;

    private static double SumInOrder(ReadOnlySpan<double> s) =>
        (((s[0] + s[8]) + (s[4] + s[12])) + ((s[2] + s[10]) + (s[6] + s[14]))) + (((s[1] + s[9]) + (s[5] + s[13])) + ((s[3] + s[11]) + (s[7] + s[15])));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LambNormBlocks<TLanes>(LambNormStep step, int blocks, ref double thetas, ref double updates)
        where TLanes : struct, ILanes<TLanes>
    {
        for (int i = 0; i < blocks; i += LambSums)
        {
            for (int k = 0; k < LambSums; k += (int)TLanes.Count)
            {
                step.Add<TLanes>((nuint)(i + k), ref Unsafe.Add(ref thetas, k), ref Unsafe.Add(ref updates, k));
            }
        }
    }

    /// <summary>
    /// One FTRL-proximal step in Keras's form (McMahan et al. 2013), for every element <c>i</c>, with
    /// <c>P(x) = x^(-power)</c>: <c>g' = g + 2·shrinkage·θ</c>; <c>n' = n + g²</c>;
    /// <c>z ← z + g' - (P(n') - P(n))/lr·θ</c>; <c>θ ← (clip(z, -l1, l1) - z) / (P(n')/lr + twoL2)</c>; <c>n ← n'</c>.
    /// A power of -0.5 (Keras's default) takes the correctly rounded square root on every path, 0 takes P = 1, any other
    /// power <see cref="MathF.Pow"/> one element at a time.
    /// </summary>
    /// <param name="parameters">θ, replaced.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="accumulators">n, updated in place.</param>
    /// <param name="linears">z, updated in place.</param>
    /// <param name="learningRate">lr, positive.</param>
    /// <param name="power">Keras's <c>learning_rate_power</c>, at most 0.</param>
    /// <param name="l1">The L1 strength, non-negative.</param>
    /// <param name="twoL2">Twice the L2 strength with β's share: <c>2·(l2 + β/(2·lr))</c>.</param>
    /// <param name="shrinkage">The L2 shrinkage strength, non-negative.</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not positive, <paramref name="power"/> is above 0, or <paramref name="l1"/>, <paramref name="twoL2"/> or <paramref name="shrinkage"/> is negative (or any is not finite).</exception>
    public static void FtrlUpdate(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> accumulators, Span<float> linears,
        float learningRate, float power, float l1, float twoL2, float shrinkage)
    {
        // The optimizer checks its settings once; a direct caller's are checked here (a negative l1 made the general
        // power's clamp throw a message about its bounds, and the other paths return numbers).
        Check.Positive(learningRate, nameof(learningRate));
        Check.InRange(power, float.NegativeInfinity, 0f, "(]", nameof(power));
        Check.NonNegative(l1, nameof(l1));
        Check.NonNegative(twoL2, nameof(twoL2));
        Check.NonNegative(shrinkage, nameof(shrinkage));
        FtrlUpdate(parameters, gradients, accumulators, linears, learningRate, power, l1, twoL2, shrinkage, KernelIsaSupport.Widest);
    }

    /// <summary><see cref="FtrlUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void FtrlUpdate(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> accumulators, Span<float> linears,
        float learningRate, float power, float l1, float twoL2, float shrinkage, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(accumulators.Length, length, nameof(accumulators));
        CheckSameLength(linears.Length, length, nameof(linears));
        if (power is -0.5f or 0f)
        {
            ElementwiseDriver.Run(new FtrlStep(parameters, gradients, accumulators, linears, learningRate, power == -0.5f, l1, twoL2, shrinkage), length, isa);
            return;
        }

        float twoShrinkage = 2f * shrinkage;
        for (int i = 0; i < length; i++)
        {
            float w = parameters[i], g = gradients[i], n = accumulators[i];
            float next = n + (g * g), p = MathF.Pow(next, -power);
            float z = linears[i] + ((g + (twoShrinkage * w)) - ((p - MathF.Pow(n, -power)) / learningRate * w));
            linears[i] = z;
            parameters[i] = (Math.Clamp(z, -l1, l1) - z) / ((p / learningRate) + twoL2);
            accumulators[i] = next;
        }
    }

    /// <summary>
    /// One AMSGrad step (Adam with the running maximum of the second moments), as <see cref="AdamUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float)"/> with
    /// <c>v̂ = max(v̂, v)</c> after the moment updates and v̂ in the denominator: <c>θ = θ - α·m / (√v̂ + ε)</c>.
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g.</param>
    /// <param name="firstMoment">m, updated in place.</param>
    /// <param name="secondMoment">v, updated in place.</param>
    /// <param name="maxSecondMoment">v̂, updated in place.</param>
    /// <param name="alpha">The bias-corrected step size α.</param>
    /// <param name="beta1">β1.</param>
    /// <param name="beta2">β2.</param>
    /// <param name="epsilon">ε.</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AmsgradUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        Span<float> maxSecondMoment, float alpha, float beta1, float beta2, float epsilon) =>
        AmsgradUpdate(parameters, gradients, firstMoment, secondMoment, maxSecondMoment, alpha, beta1, beta2, epsilon, KernelIsaSupport.Widest);

    /// <summary><see cref="AmsgradUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, float, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void AmsgradUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        Span<float> maxSecondMoment, float alpha, float beta1, float beta2, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(firstMoment.Length, length, nameof(firstMoment));
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));
        CheckSameLength(maxSecondMoment.Length, length, nameof(maxSecondMoment));
        ElementwiseDriver.Run(
            new AdamStep(parameters, gradients, firstMoment, secondMoment, alpha, beta1, beta2, epsilon, maxSecondMoment), length, isa);
    }

    /// <summary>
    /// One RMSprop step in Keras 3's form: <c>v = ρv + (1 - ρ)g²</c>; centered (<paramref name="average"/> not empty),
    /// <c>ḡ = ρḡ + (1 - ρ)g</c> and <c>d = v - ḡ² + ε</c>, else <c>d = v + ε</c>; <c>Δ = lr·g / √d</c>; with momentum
    /// (<paramref name="velocity"/> not empty) <c>u = μu + Δ</c> and <c>θ = θ - u</c>, else <c>θ = θ - Δ</c>.
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g.</param>
    /// <param name="meanSquare">v, updated in place.</param>
    /// <param name="velocity">u, or empty without momentum.</param>
    /// <param name="average">ḡ, or empty when not centered.</param>
    /// <param name="learningRate">lr.</param>
    /// <param name="rho">ρ.</param>
    /// <param name="momentum">μ.</param>
    /// <param name="epsilon">ε.</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsPropUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> meanSquare, Span<float> velocity, Span<float> average,
        float learningRate, float rho, float momentum, float epsilon) =>
        RmsPropUpdate(parameters, gradients, meanSquare, velocity, average, learningRate, rho, momentum, epsilon, KernelIsaSupport.Widest);

    /// <summary><see cref="RmsPropUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, float, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void RmsPropUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> meanSquare, Span<float> velocity, Span<float> average,
        float learningRate, float rho, float momentum, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(meanSquare.Length, length, nameof(meanSquare));
        bool withMomentum = !velocity.IsEmpty, centered = !average.IsEmpty;
        if (withMomentum)
        {
            CheckSameLength(velocity.Length, length, nameof(velocity));
        }

        if (centered)
        {
            CheckSameLength(average.Length, length, nameof(average));
        }

        ElementwiseDriver.Run(new RmsPropStep(parameters, gradients, meanSquare, velocity, average, learningRate, rho, momentum, epsilon), length, isa);
    }

    /// <summary>
    /// One stochastic-gradient-descent step with Keras's semantics. Without momentum: <c>θ = θ - lr·g</c>. With momentum μ:
    /// <c>u = μ·u - lr·g</c>, then <c>θ = θ + u</c>, or with Nesterov <c>θ = θ + μ·u - lr·g</c>.
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="velocity">u, as long as <paramref name="parameters"/>, updated in place; ignored (may be empty) when <paramref name="momentum"/> is 0.</param>
    /// <param name="learningRate">lr.</param>
    /// <param name="momentum">μ, in [0, 1).</param>
    /// <param name="nesterov">Whether to apply Nesterov momentum.</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SgdUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity,
        float learningRate, float momentum, bool nesterov) =>
        SgdUpdate(parameters, gradients, velocity, learningRate, momentum, nesterov, KernelIsaSupport.Widest);

    /// <summary><see cref="SgdUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, float, float, bool)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void SgdUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity,
        float learningRate, float momentum, bool nesterov, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        if (momentum == 0f)
        {
            ElementwiseDriver.Run(new SgdStep(parameters, gradients, learningRate), length, isa);
            return;
        }

        CheckSameLength(velocity.Length, length, nameof(velocity));
        ElementwiseDriver.Run(new SgdMomentumStep(parameters, gradients, velocity, learningRate, momentum, nesterov), length, isa);
    }

    /// <summary>
    /// One Adagrad step in Keras 3's form: <c>a = a + g²</c>; <c>θ = θ - lr·g / √(a + ε)</c>.
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="accumulator">a, the sum of squared gradients (Keras starts it at 0.1), updated in place; values below <see cref="MomentFloor"/> are stored as 0.</param>
    /// <param name="learningRate">lr.</param>
    /// <param name="epsilon">ε, added inside the square root as in Keras (PyTorch adds it outside).</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdagradUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> accumulator, float learningRate, float epsilon) =>
        AdagradUpdate(parameters, gradients, accumulator, learningRate, epsilon, KernelIsaSupport.Widest);

    /// <summary><see cref="AdagradUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void AdagradUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> accumulator, float learningRate, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(accumulator.Length, length, nameof(accumulator));
        ElementwiseDriver.Run(new AdagradStep(parameters, gradients, accumulator, learningRate, epsilon), length, isa);
    }

    /// <summary>
    /// One Adadelta step in Keras 3's form: <c>a = ρa + (1 - ρ)g²</c>; <c>Δ = √(d + ε)·g / √(a + ε)</c>;
    /// <c>d = ρd + (1 - ρ)Δ²</c>; <c>θ = θ - lr·Δ</c>.
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="gradientAverage">a, the running average of squared gradients, updated in place.</param>
    /// <param name="updateAverage">d, the running average of squared updates, updated in place.</param>
    /// <param name="learningRate">lr (Keras's default 0.001; the original paper and PyTorch use 1).</param>
    /// <param name="rho">ρ, in [0, 1).</param>
    /// <param name="epsilon">ε, positive.</param>
    /// <remarks>Averages below <see cref="MomentFloor"/> are stored as 0, as Adam's moments are.</remarks>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdadeltaUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> gradientAverage, Span<float> updateAverage,
        float learningRate, float rho, float epsilon) =>
        AdadeltaUpdate(parameters, gradients, gradientAverage, updateAverage, learningRate, rho, epsilon, KernelIsaSupport.Widest);

    /// <summary><see cref="AdadeltaUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void AdadeltaUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> gradientAverage, Span<float> updateAverage,
        float learningRate, float rho, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(gradientAverage.Length, length, nameof(gradientAverage));
        CheckSameLength(updateAverage.Length, length, nameof(updateAverage));
        ElementwiseDriver.Run(new AdadeltaStep(parameters, gradients, gradientAverage, updateAverage, learningRate, rho, epsilon), length, isa);
    }

    /// <summary>
    /// One Adamax step in Keras 3's form: <c>m = m + (g - m)(1 - β1)</c>; <c>u = max(β2·u, |g|)</c>;
    /// <c>θ = θ - α·m / (u + ε)</c>, where the caller passes <c>α = lr / (1 - β1^t)</c> for step <c>t</c> (1-based).
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="firstMoment">m, updated in place.</param>
    /// <param name="infinityNorm">u, the exponentially weighted infinity norm, updated in place.</param>
    /// <param name="alpha">The bias-corrected step size α.</param>
    /// <param name="beta1">β1, in [0, 1).</param>
    /// <param name="beta2">β2, in [0, 1).</param>
    /// <param name="epsilon">ε, positive; added to u as in Keras (PyTorch adds it to |g| inside the maximum).</param>
    /// <remarks>m and u below <see cref="MomentFloor"/> in magnitude are stored as 0 (u decays geometrically where the gradient is 0). A NaN gradient makes u NaN (the maximum propagates NaN).</remarks>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdamaxUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> infinityNorm,
        float alpha, float beta1, float beta2, float epsilon) =>
        AdamaxUpdate(parameters, gradients, firstMoment, infinityNorm, alpha, beta1, beta2, epsilon, KernelIsaSupport.Widest);

    /// <summary><see cref="AdamaxUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void AdamaxUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> infinityNorm,
        float alpha, float beta1, float beta2, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(firstMoment.Length, length, nameof(firstMoment));
        CheckSameLength(infinityNorm.Length, length, nameof(infinityNorm));
        ElementwiseDriver.Run(new AdamaxStep(parameters, gradients, firstMoment, infinityNorm, alpha, beta1, beta2, epsilon), length, isa);
    }

    /// <summary>
    /// One Nadam step (Adam with Nesterov momentum, Dozat 2016) in Keras 3's form: <c>m = m + (g - m)(1 - β1)</c>;
    /// <c>v = v + (g² - v)(1 - β2)</c>; <c>θ = θ - (a·m + b·g) / (√(v·c) + ε)</c>, where the caller passes, for step
    /// <c>t</c> with the momentum schedule <c>μ_t = β1·(1 - 0.5·0.96^t)</c> and <c>Π_t = μ_1···μ_t</c>:
    /// <c>a = lr·μ_{t+1} / (1 - Π_t·μ_{t+1})</c>, <c>b = lr·(1 - μ_t) / (1 - Π_t)</c> and <c>c = 1 / (1 - β2^t)</c>.
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="firstMoment">m, updated in place.</param>
    /// <param name="secondMoment">v, updated in place.</param>
    /// <param name="momentumStep">a, the step on the first moment.</param>
    /// <param name="gradientStep">b, the step on the gradient.</param>
    /// <param name="secondMomentScale">c, the second moment's bias correction.</param>
    /// <param name="beta1">β1, in [0, 1).</param>
    /// <param name="beta2">β2, in [0, 1).</param>
    /// <param name="epsilon">ε, positive; added to the corrected √v, as in Keras and PyTorch.</param>
    /// <remarks>Moments below <see cref="MomentFloor"/> in magnitude are stored as 0, as Adam's are.</remarks>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NadamUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float momentumStep, float gradientStep, float secondMomentScale, float beta1, float beta2, float epsilon) =>
        NadamUpdate(parameters, gradients, firstMoment, secondMoment, momentumStep, gradientStep, secondMomentScale, beta1, beta2, epsilon,
            KernelIsaSupport.Widest);

    /// <summary><see cref="NadamUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void NadamUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float momentumStep, float gradientStep, float secondMomentScale, float beta1, float beta2, float epsilon, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(firstMoment.Length, length, nameof(firstMoment));
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));
        ElementwiseDriver.Run(
            new NadamStep(parameters, gradients, firstMoment, secondMoment, momentumStep, gradientStep, secondMomentScale, beta1, beta2, epsilon),
            length, isa);
    }

    /// <summary>
    /// One Lion step (Chen et al. 2023) in Keras 3's form: <c>θ = θ - lr·sign(β1·m + (1 - β1)g)</c>, then
    /// <c>m = β2·m + (1 - β2)g</c>. <c>sign(0) = 0</c>.
    /// </summary>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="momentum">m, updated in place; subnormal values (below <see cref="LionFloor"/> in magnitude) are stored as 0.</param>
    /// <param name="learningRate">lr (Lion's steps are ±lr, so it wants a rate 3-10 times smaller than Adam's).</param>
    /// <param name="beta1">β1, in [0, 1): the interpolation for the step.</param>
    /// <param name="beta2">β2, in [0, 1): the momentum's decay.</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LionUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> momentum, float learningRate, float beta1, float beta2) =>
        LionUpdate(parameters, gradients, momentum, learningRate, beta1, beta2, KernelIsaSupport.Widest);

    /// <summary><see cref="LionUpdate(Span{float}, ReadOnlySpan{float}, Span{float}, float, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void LionUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> momentum, float learningRate, float beta1, float beta2, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(momentum.Length, length, nameof(momentum));
        ElementwiseDriver.Run(new LionStep(parameters, gradients, momentum, learningRate, beta1, beta2), length, isa);
    }

    /// <summary>
    /// One Adafactor step over a vector, or over a run of one row of a factored matrix, in Keras 3's form, for every
    /// element <c>j</c>: <c>θ = θ - step·g / (rowRoot·√v)</c>, where v is the second-moment estimate (a vector's own,
    /// with <paramref name="rowRoot"/> 1, or the matrix's column moments <c>c</c> with <paramref name="rowRoot"/> =
    /// <c>√(r_i / mean(r))</c> of the row) and step is <c>α_t / max(1, RMS(u) / d)</c>
    /// (<see cref="AdafactorVelocity"/>, <see cref="AdafactorFactoredSquares"/>).
    /// </summary>
    /// <remarks>
    /// Keras divides by <c>√((r_i / mean(r))·c_j)</c>; the product underflows to 0 where a row and a column of zero
    /// gradients meet (a blank MNIST pixel's row and a unit that no sample of the batch activates: about 1e-25 times
    /// 1e-30), and <c>0 / √0</c> made the whole kernel NaN at the first step. Taking the two roots apart, as the paper's
    /// and PyTorch's implementations do, is the same value where nothing underflows.
    /// </remarks>
    /// <param name="parameters">θ, updated in place.</param>
    /// <param name="gradients">g, as long as <paramref name="parameters"/>.</param>
    /// <param name="secondMoment">v (or the row's column moments), as long as <paramref name="parameters"/>.</param>
    /// <param name="rowRoot">The row's factor <c>√(r_i / mean(r))</c>; 1 for a vector.</param>
    /// <param name="step">The step size <c>α_t / max(1, RMS(u) / d)</c>.</param>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdafactorUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, ReadOnlySpan<float> secondMoment, float rowRoot, float step) =>
        AdafactorUpdate(parameters, gradients, secondMoment, rowRoot, step, KernelIsaSupport.Widest);

    /// <summary><see cref="AdafactorUpdate(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, float, float)"/> with the vectors of <paramref name="isa"/>.</summary>
    internal static void AdafactorUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, ReadOnlySpan<float> secondMoment, float rowRoot, float step, KernelIsa isa)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));
        ElementwiseDriver.Run(new AdafactorStep(parameters, gradients, secondMoment, rowRoot, step), length, isa);
    }

    /// <summary>
    /// Adafactor's second moment of a vector variable (Keras 3): <c>v = β·v + (1 - β)·(g² + ε1)</c>, and the sum of the
    /// squared updates <c>Σ g²/v</c> with the new v, whose root mean is the RMS(u) that clips the step.
    /// </summary>
    /// <param name="gradients">g.</param>
    /// <param name="secondMoment">v, as long as <paramref name="gradients"/>, updated in place.</param>
    /// <param name="scratch">At least as long as <paramref name="gradients"/>; overwritten.</param>
    /// <param name="beta">β_t = 1 - t^decay.</param>
    /// <param name="epsilon1">ε1.</param>
    /// <returns><c>Σ g²/v</c>, summed in double row by row of 4,096.</returns>
    internal static double AdafactorVelocity(ReadOnlySpan<float> gradients, Span<float> secondMoment, Span<float> scratch, float beta, float epsilon1)
    {
        int length = gradients.Length;
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));
        Span<float> squares = scratch[..length];
        TensorPrimitives.Multiply(gradients, gradients, squares);
        // v = β·v + (1 - β)·(g² + ε1), as Keras groups it.
        TensorPrimitives.Add(squares, epsilon1, squares);
        TensorPrimitives.Multiply(squares, 1f - beta, squares);
        TensorPrimitives.MultiplyAdd(secondMoment, beta, squares, secondMoment);
        TensorPrimitives.Multiply(gradients, gradients, squares);
        TensorPrimitives.Divide(squares, secondMoment, squares);
        return ChunkedSum(squares);
    }

    /// <summary>
    /// Adafactor's factored second moment of a row-major <c>[rows, columns]</c> matrix variable (Keras 3, the last two
    /// axes): the row moments <c>r_i = β·r_i + (1 - β)·mean_j(g_ij² + ε1)</c> and the column moments
    /// <c>c_j = β·c_j + (1 - β)·mean_i(g_ij² + ε1)</c>.
    /// </summary>
    /// <param name="gradients">g, <c>rows·columns</c> floats.</param>
    /// <param name="columns">The matrix's columns; divides the gradient's length.</param>
    /// <param name="rowMoments">r, one per row, updated in place.</param>
    /// <param name="columnMoments">c, one per column, updated in place.</param>
    /// <param name="scratch">At least twice <paramref name="columns"/> floats; overwritten.</param>
    /// <param name="beta">β_t = 1 - t^decay.</param>
    /// <param name="epsilon1">ε1.</param>
    /// <returns>The sum of the new row moments, in double (float's sum of rows of moments near its largest overflowed).</returns>
    internal static double AdafactorFactoredMoments(
        ReadOnlySpan<float> gradients, int columns, Span<float> rowMoments, Span<float> columnMoments, Span<float> scratch, float beta, float epsilon1)
    {
        int rows = gradients.Length / columns;
        CheckSameLength(gradients.Length, rows * columns, nameof(gradients));
        CheckSameLength(rowMoments.Length, rows, nameof(rowMoments));
        CheckSameLength(columnMoments.Length, columns, nameof(columnMoments));
        // Gradients past 2^50 in magnitude are summed as g·2^-k (exact): float sums of squares of 6e17 overflowed to ∞
        // over 1,024 columns, below the 1.8e19 the model lets through, and ∞/∞ made the whole kernel NaN. The means,
        // at most the largest square, are finite in float whatever the gradient the model passes.
        float largest = TensorPrimitives.MaxMagnitude(gradients);
        int shift = float.IsFinite(largest) && Math.Abs(largest) > 1125899906842624f ? Math.ILogB(largest) + 1 : 0;
        float down = MathF.ScaleB(1f, -shift);
        double up = Math.ScaleB(1.0, 2 * shift);
        Span<float> sums = scratch[..columns], scaled = scratch.Slice(columns, columns);
        sums.Clear();
        double rowTotal = 0;
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<float> row = gradients.Slice(i * columns, columns);
            if (shift != 0)
            {
                TensorPrimitives.Multiply(row, down, scaled);
                row = scaled;
            }

            float mean = (float)((double)TensorPrimitives.SumOfSquares(row) / columns * up) + epsilon1;
            rowMoments[i] = (beta * rowMoments[i]) + ((1f - beta) * mean);
            rowTotal += rowMoments[i];
            TensorPrimitives.MultiplyAdd(row, row, sums, sums);
        }

        TensorPrimitives.Multiply(sums, (float)(1.0 / rows), sums);
        if (shift != 0)
        {
            // 2^(2·shift) in two halves, each a float.
            TensorPrimitives.Multiply(sums, (float)Math.ScaleB(1.0, shift), sums);
            TensorPrimitives.Multiply(sums, (float)Math.ScaleB(1.0, shift), sums);
        }

        TensorPrimitives.Add(sums, epsilon1, sums);
        TensorPrimitives.Multiply(sums, 1f - beta, sums);
        TensorPrimitives.MultiplyAdd(columnMoments, beta, sums, columnMoments);
        return rowTotal;
    }

    /// <summary>
    /// The sum of Adafactor's squared updates over a factored matrix, <c>Σ_ij u_ij²</c> with
    /// <c>u_ij = g_ij / (√(r_i / mean(r))·√c_j)</c> (Keras 3's <c>g / √v</c>, the roots taken apart as in
    /// <see cref="AdafactorUpdate(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, float, float)"/>), whose root
    /// mean is the RMS(u) that clips the step.
    /// </summary>
    /// <param name="gradients">g, <c>rows·columns</c> floats.</param>
    /// <param name="columns">The matrix's columns.</param>
    /// <param name="rowMoments">r, one per row.</param>
    /// <param name="rowMean">mean(r).</param>
    /// <param name="columnMoments">c, one per column.</param>
    /// <param name="scratch">At least twice <paramref name="columns"/> floats; overwritten.</param>
    /// <returns>The sum, in double over rows.</returns>
    internal static double AdafactorFactoredSquares(
        ReadOnlySpan<float> gradients, int columns, ReadOnlySpan<float> rowMoments, float rowMean, ReadOnlySpan<float> columnMoments, Span<float> scratch)
    {
        int rows = rowMoments.Length;
        CheckSameLength(gradients.Length, rows * columns, nameof(gradients));
        CheckSameLength(columnMoments.Length, columns, nameof(columnMoments));
        Span<float> roots = scratch[..columns], u = scratch.Slice(columns, columns);
        TensorPrimitives.Sqrt(columnMoments, roots);
        double sum = 0;
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<float> row = gradients.Slice(i * columns, columns);
            TensorPrimitives.Multiply(roots, MathF.Sqrt(rowMoments[i] / rowMean), u);
            TensorPrimitives.Divide(row, u, u);
            sum += TensorPrimitives.SumOfSquares(u);
        }

        return sum;
    }

    // A float sum of runs of 4,096 elements, added up in double: float's error stays that of one run, whatever the length.
    private static double ChunkedSum(ReadOnlySpan<float> values)
    {
        double sum = 0;
        for (int start = 0; start < values.Length; start += 4096)
        {
            sum += TensorPrimitives.Sum(values.Slice(start, Math.Min(4096, values.Length - start)));
        }

        return sum;
    }

    private static void CheckSameLength(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            ThrowHelper.ThrowLengthMismatch(name, actual, "parameters", expected);
        }
    }

    /// <summary>Adam, or AMSGrad when given the running maximum v̂.</summary>
    private readonly ref struct AdamStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float alpha, float beta1, float beta2, float epsilon, Span<float> maxSecondMoment = default) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _m = ref MemoryMarshal.GetReference(firstMoment);
        private readonly ref float _v = ref MemoryMarshal.GetReference(secondMoment);
        private readonly ref float _vMax = ref MemoryMarshal.GetReference(maxSecondMoment);
        private readonly bool _amsgrad = !maxSecondMoment.IsEmpty;
        private readonly float _oneMinusBeta1 = 1f - beta1, _oneMinusBeta2 = 1f - beta2, _alpha = alpha, _epsilon = epsilon;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes g = TLanes.Load(ref _g, index);
            TLanes m = TLanes.Load(ref _m, index);
            TLanes v = TLanes.Load(ref _v, index);
            (m, v) = AdamMoments(g, m, v, _oneMinusBeta1, _oneMinusBeta2);
            TLanes.Store(m, ref _m, index);
            TLanes.Store(v, ref _v, index);
            if (_amsgrad)
            {
                v = TLanes.Max(TLanes.Load(ref _vMax, index), v);
                TLanes.Store(v, ref _vMax, index);
            }

            TLanes.Store(TLanes.Load(ref _p, index) - (TLanes.Create(_alpha) * m / (TLanes.Sqrt(v) + TLanes.Create(_epsilon))), ref _p, index);
        }
    }

    // Adam's moments as Keras updates them, flushed below MomentFloor (AdamStep, LambStep and LambNormStep share them).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (TLanes M, TLanes V) AdamMoments<TLanes>(TLanes g, TLanes m, TLanes v, float oneMinusBeta1, float oneMinusBeta2)
        where TLanes : struct, ILanes<TLanes>
    {
        m += (g - m) * TLanes.Create(oneMinusBeta1);
        v += ((g * g) - v) * TLanes.Create(oneMinusBeta2);
        TLanes floor = TLanes.Create(MomentFloor);
        return (TLanes.FlushBelow(TLanes.Abs(m), floor, m), TLanes.FlushBelow(v, floor, v));
    }

    // LAMB's update direction u = (m / c1) / (√(v / c2) + ε), the same in its norms' pass and in its step.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TLanes LambDirection<TLanes>(TLanes m, TLanes v, float correction1, float correction2, float epsilon)
        where TLanes : struct, ILanes<TLanes> =>
        m / TLanes.Create(correction1) / (TLanes.Sqrt(v / TLanes.Create(correction2)) + TLanes.Create(epsilon));

    private readonly ref struct LambStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float step, float beta1, float beta2, float correction1, float correction2, float epsilon) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _m = ref MemoryMarshal.GetReference(firstMoment);
        private readonly ref float _v = ref MemoryMarshal.GetReference(secondMoment);
        private readonly float _oneMinusBeta1 = 1f - beta1, _oneMinusBeta2 = 1f - beta2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes g = TLanes.Load(ref _g, index);
            TLanes m = TLanes.Load(ref _m, index);
            TLanes v = TLanes.Load(ref _v, index);
            (m, v) = AdamMoments(g, m, v, _oneMinusBeta1, _oneMinusBeta2);
            TLanes.Store(m, ref _m, index);
            TLanes.Store(v, ref _v, index);
            TLanes u = LambDirection(m, v, correction1, correction2, epsilon);
            TLanes.Store(TLanes.Load(ref _p, index) - (TLanes.Create(step) * u), ref _p, index);
        }
    }

    // One vector of LambNorms: the decayed parameters and the updates LambStep will apply, their squares added to the sums of their lanes.
    private readonly ref struct LambNormStep(
        ReadOnlySpan<float> parameters, ReadOnlySpan<float> gradients, ReadOnlySpan<float> firstMoment, ReadOnlySpan<float> secondMoment,
        float decay, float beta1, float beta2, float correction1, float correction2, float epsilon)
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _m = ref MemoryMarshal.GetReference(firstMoment);
        private readonly ref float _v = ref MemoryMarshal.GetReference(secondMoment);
        private readonly float _oneMinusBeta1 = 1f - beta1, _oneMinusBeta2 = 1f - beta2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add<TLanes>(nuint index, ref double thetas, ref double updates)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes theta = TLanes.Load(ref _p, index);
            if (decay != 0f)
            {
                theta -= theta * TLanes.Create(decay);
            }

            TLanes g = TLanes.Load(ref _g, index);
            TLanes m = TLanes.Load(ref _m, index);
            TLanes v = TLanes.Load(ref _v, index);
            (m, v) = AdamMoments(g, m, v, _oneMinusBeta1, _oneMinusBeta2);
            TLanes u = LambDirection(m, v, correction1, correction2, epsilon);
            TLanes.AddSquares(theta, ref thetas);
            TLanes.AddSquares(u, ref updates);
        }
    }

    // FtrlUpdate's rule with P(x) = √x (power -0.5) or 1 (power 0).
    private readonly ref struct FtrlStep(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> accumulators, Span<float> linears,
        float learningRate, bool squareRoot, float l1, float twoL2, float shrinkage) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _n = ref MemoryMarshal.GetReference(accumulators);
        private readonly ref float _z = ref MemoryMarshal.GetReference(linears);
        private readonly float _twoShrinkage = 2f * shrinkage;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes w = TLanes.Load(ref _p, index), g = TLanes.Load(ref _g, index), n = TLanes.Load(ref _n, index);
            TLanes next = n + (g * g);
            TLanes p = squareRoot ? TLanes.Sqrt(next) : TLanes.Create(1f), previous = squareRoot ? TLanes.Sqrt(n) : TLanes.Create(1f);
            TLanes lr = TLanes.Create(learningRate);
            TLanes z = TLanes.Load(ref _z, index) + ((g + (TLanes.Create(_twoShrinkage) * w)) - ((p - previous) / lr * w));
            TLanes.Store(z, ref _z, index);
            TLanes clipped = TLanes.Max(TLanes.Create(-l1), TLanes.Min(z, TLanes.Create(l1)));
            TLanes.Store((clipped - z) / ((p / lr) + TLanes.Create(twoL2)), ref _p, index);
            TLanes.Store(next, ref _n, index);
        }
    }

    private readonly ref struct RmsPropStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> meanSquare, Span<float> velocity, Span<float> average,
        float learningRate, float rho, float momentum, float epsilon) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _meanSquare = ref MemoryMarshal.GetReference(meanSquare);
        private readonly ref float _velocity = ref MemoryMarshal.GetReference(velocity);
        private readonly ref float _average = ref MemoryMarshal.GetReference(average);
        private readonly bool _withMomentum = !velocity.IsEmpty, _centered = !average.IsEmpty;
        private readonly float _learningRate = learningRate, _rho = rho, _oneMinusRho = 1f - rho, _momentum = momentum, _epsilon = epsilon;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes g = TLanes.Load(ref _g, index);
            TLanes rho = TLanes.Create(_rho), oneMinusRho = TLanes.Create(_oneMinusRho);
            TLanes v = (rho * TLanes.Load(ref _meanSquare, index)) + (oneMinusRho * (g * g));
            v = TLanes.FlushBelow(v, TLanes.Create(MomentFloor), v);
            TLanes.Store(v, ref _meanSquare, index);
            TLanes denominator;
            if (_centered)
            {
                TLanes a = (rho * TLanes.Load(ref _average, index)) + (oneMinusRho * g);
                TLanes.Store(a, ref _average, index);
                denominator = v - (a * a) + TLanes.Create(_epsilon);
            }
            else
            {
                denominator = v + TLanes.Create(_epsilon);
            }

            TLanes increment = TLanes.Create(_learningRate) * g / TLanes.Sqrt(denominator);
            if (_withMomentum)
            {
                increment = (TLanes.Create(_momentum) * TLanes.Load(ref _velocity, index)) + increment;
                TLanes.Store(increment, ref _velocity, index);
            }

            TLanes.Store(TLanes.Load(ref _p, index) - increment, ref _p, index);
        }
    }

    private readonly ref struct AdafactorStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, ReadOnlySpan<float> secondMoment, float rowRoot, float step) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _v = ref MemoryMarshal.GetReference(secondMoment);
        private readonly float _rowRoot = rowRoot, _step = step;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes u = TLanes.Load(ref _g, index) / (TLanes.Create(_rowRoot) * TLanes.Sqrt(TLanes.Load(ref _v, index)));
            TLanes.Store(TLanes.Load(ref _p, index) - (TLanes.Create(_step) * u), ref _p, index);
        }
    }

    private readonly ref struct SgdStep(Span<float> parameters, ReadOnlySpan<float> gradients, float learningRate) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly float _learningRate = learningRate;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes> =>
            TLanes.Store(TLanes.Load(ref _p, index) - (TLanes.Create(_learningRate) * TLanes.Load(ref _g, index)), ref _p, index);
    }

    private readonly ref struct SgdMomentumStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity, float learningRate, float momentum, bool nesterov) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _u = ref MemoryMarshal.GetReference(velocity);
        private readonly float _learningRate = learningRate, _momentum = momentum;
        private readonly bool _nesterov = nesterov;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes mu = TLanes.Create(_momentum);
            TLanes step = TLanes.Create(_learningRate) * TLanes.Load(ref _g, index);
            TLanes u = (mu * TLanes.Load(ref _u, index)) - step;
            TLanes.Store(u, ref _u, index);
            TLanes.Store(TLanes.Load(ref _p, index) + (_nesterov ? (mu * u) - step : u), ref _p, index);
        }
    }

    private readonly ref struct AdagradStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> accumulator, float learningRate, float epsilon) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _a = ref MemoryMarshal.GetReference(accumulator);
        private readonly float _learningRate = learningRate, _epsilon = epsilon;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes g = TLanes.Load(ref _g, index);
            TLanes a = TLanes.Load(ref _a, index) + (g * g);
            a = TLanes.FlushBelow(a, TLanes.Create(MomentFloor), a);
            TLanes.Store(a, ref _a, index);
            TLanes.Store(TLanes.Load(ref _p, index) - (TLanes.Create(_learningRate) * g / TLanes.Sqrt(a + TLanes.Create(_epsilon))), ref _p, index);
        }
    }

    private readonly ref struct AdadeltaStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> gradientAverage, Span<float> updateAverage,
        float learningRate, float rho, float epsilon) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _a = ref MemoryMarshal.GetReference(gradientAverage);
        private readonly ref float _d = ref MemoryMarshal.GetReference(updateAverage);
        private readonly float _learningRate = learningRate, _rho = rho, _oneMinusRho = 1f - rho, _epsilon = epsilon;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes g = TLanes.Load(ref _g, index);
            TLanes rho = TLanes.Create(_rho), oneMinusRho = TLanes.Create(_oneMinusRho), epsilon = TLanes.Create(_epsilon);
            TLanes floor = TLanes.Create(MomentFloor);
            TLanes a = (rho * TLanes.Load(ref _a, index)) + (oneMinusRho * (g * g));
            a = TLanes.FlushBelow(a, floor, a);
            TLanes.Store(a, ref _a, index);
            TLanes d = TLanes.Load(ref _d, index);
            TLanes delta = TLanes.Sqrt(d + epsilon) * g / TLanes.Sqrt(a + epsilon);
            d = (rho * d) + (oneMinusRho * (delta * delta));
            d = TLanes.FlushBelow(d, floor, d);
            TLanes.Store(d, ref _d, index);
            TLanes.Store(TLanes.Load(ref _p, index) - (TLanes.Create(_learningRate) * delta), ref _p, index);
        }
    }

    private readonly ref struct AdamaxStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> infinityNorm,
        float alpha, float beta1, float beta2, float epsilon) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _m = ref MemoryMarshal.GetReference(firstMoment);
        private readonly ref float _u = ref MemoryMarshal.GetReference(infinityNorm);
        private readonly float _oneMinusBeta1 = 1f - beta1, _beta2 = beta2, _alpha = alpha, _epsilon = epsilon;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes g = TLanes.Load(ref _g, index);
            TLanes m = TLanes.Load(ref _m, index);
            m += (g - m) * TLanes.Create(_oneMinusBeta1);
            TLanes u = TLanes.Max(TLanes.Create(_beta2) * TLanes.Load(ref _u, index), TLanes.Abs(g));
            TLanes floor = TLanes.Create(MomentFloor);
            m = TLanes.FlushBelow(TLanes.Abs(m), floor, m);
            u = TLanes.FlushBelow(u, floor, u);
            TLanes.Store(m, ref _m, index);
            TLanes.Store(u, ref _u, index);
            TLanes.Store(TLanes.Load(ref _p, index) - (TLanes.Create(_alpha) * m / (u + TLanes.Create(_epsilon))), ref _p, index);
        }
    }

    private readonly ref struct NadamStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float momentumStep, float gradientStep, float secondMomentScale, float beta1, float beta2, float epsilon) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _m = ref MemoryMarshal.GetReference(firstMoment);
        private readonly ref float _v = ref MemoryMarshal.GetReference(secondMoment);
        private readonly float _oneMinusBeta1 = 1f - beta1, _oneMinusBeta2 = 1f - beta2, _epsilon = epsilon;
        private readonly float _momentumStep = momentumStep, _gradientStep = gradientStep, _secondMomentScale = secondMomentScale;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes g = TLanes.Load(ref _g, index);
            TLanes m = TLanes.Load(ref _m, index);
            TLanes v = TLanes.Load(ref _v, index);
            (m, v) = AdamMoments(g, m, v, _oneMinusBeta1, _oneMinusBeta2);
            TLanes.Store(m, ref _m, index);
            TLanes.Store(v, ref _v, index);
            TLanes step = (TLanes.Create(_momentumStep) * m) + (TLanes.Create(_gradientStep) * g);
            TLanes.Store(TLanes.Load(ref _p, index) - (step / (TLanes.Sqrt(v * TLanes.Create(_secondMomentScale)) + TLanes.Create(_epsilon))), ref _p, index);
        }
    }

    private readonly ref struct LionStep(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> momentum, float learningRate, float beta1, float beta2) : IElementwiseStep
    {
        private readonly ref float _p = ref MemoryMarshal.GetReference(parameters);
        private readonly ref float _g = ref MemoryMarshal.GetReference(gradients);
        private readonly ref float _m = ref MemoryMarshal.GetReference(momentum);
        private readonly float _learningRate = learningRate, _beta1 = beta1, _oneMinusBeta1 = 1f - beta1, _beta2 = beta2, _oneMinusBeta2 = 1f - beta2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TLanes>(nuint index)
            where TLanes : struct, ILanes<TLanes>
        {
            TLanes g = TLanes.Load(ref _g, index);
            TLanes m = TLanes.Load(ref _m, index);
            TLanes direction = TLanes.Sign((m * TLanes.Create(_beta1)) + (g * TLanes.Create(_oneMinusBeta1)));
            TLanes.Store(TLanes.Load(ref _p, index) - (TLanes.Create(_learningRate) * direction), ref _p, index);
            m = (m * TLanes.Create(_beta2)) + (g * TLanes.Create(_oneMinusBeta2));
            TLanes.Store(TLanes.FlushBelow(TLanes.Abs(m), TLanes.Create(LionFloor), m), ref _m, index);
        }
    }
}
