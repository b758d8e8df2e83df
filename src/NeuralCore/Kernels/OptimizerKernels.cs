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

    private static void CheckSameLength(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            ThrowHelper.ThrowLengthMismatch(name, expected, actual);
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
            m += (g - m) * TLanes.Create(_oneMinusBeta1);
            v += ((g * g) - v) * TLanes.Create(_oneMinusBeta2);
            TLanes floor = TLanes.Create(MomentFloor);
            m = TLanes.FlushBelow(TLanes.Abs(m), floor, m);
            v = TLanes.FlushBelow(v, floor, v);
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
}
