using System.Numerics;
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
    /// <summary>Adam moments below this magnitude are flushed to zero, so they never become subnormal (see <see cref="AdamUpdate"/>).</summary>
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
    /// times slower. A moment below 1e-30 changes a parameter by less than 1e-26, so the update is unaffected.
    /// </remarks>
    /// <exception cref="ArgumentException">A span's length differs from <paramref name="parameters"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdamUpdate(
        Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> firstMoment, Span<float> secondMoment,
        float alpha, float beta1, float beta2, float epsilon)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(firstMoment.Length, length, nameof(firstMoment));
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));

        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        ref float m = ref MemoryMarshal.GetReference(firstMoment);
        ref float v = ref MemoryMarshal.GetReference(secondMoment);
        float oneMinusBeta1 = 1f - beta1, oneMinusBeta2 = 1f - beta2;
        nuint n = (nuint)length, i = 0;

        // The widest vectors available: the loop is bound by memory once 16 lanes share each sqrt and divide (with
        // 8 lanes it was bound by their throughput). Each lane performs the scalar loop's operations in the same
        // order, so every width gives the same bits.
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a1 = Vector512.Create(oneMinusBeta1), a2 = Vector512.Create(oneMinusBeta2);
            Vector512<float> step = Vector512.Create(alpha), eps = Vector512.Create(epsilon), floor = Vector512.Create(MomentFloor);
            for (; i + 16 <= n; i += 16)
            {
                Vector512<float> gi = Vector512.LoadUnsafe(ref g, i);
                Vector512<float> mi = Vector512.LoadUnsafe(ref m, i);
                Vector512<float> vi = Vector512.LoadUnsafe(ref v, i);
                mi += (gi - mi) * a1;
                vi += ((gi * gi) - vi) * a2;
                mi = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Vector512.Abs(mi), floor), mi, Vector512<float>.Zero);
                vi = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(vi, floor), vi, Vector512<float>.Zero);
                Vector512<float> pi = Vector512.LoadUnsafe(ref p, i) - (step * mi / (Vector512.Sqrt(vi) + eps));
                mi.StoreUnsafe(ref m, i);
                vi.StoreUnsafe(ref v, i);
                pi.StoreUnsafe(ref p, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a1 = Vector256.Create(oneMinusBeta1), a2 = Vector256.Create(oneMinusBeta2);
            Vector256<float> step = Vector256.Create(alpha), eps = Vector256.Create(epsilon), floor = Vector256.Create(MomentFloor);
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> gi = Vector256.LoadUnsafe(ref g, i);
                Vector256<float> mi = Vector256.LoadUnsafe(ref m, i);
                Vector256<float> vi = Vector256.LoadUnsafe(ref v, i);
                mi += (gi - mi) * a1;
                vi += ((gi * gi) - vi) * a2;
                mi = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Vector256.Abs(mi), floor), mi, Vector256<float>.Zero);
                vi = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(vi, floor), vi, Vector256<float>.Zero);
                Vector256<float> pi = Vector256.LoadUnsafe(ref p, i) - (step * mi / (Vector256.Sqrt(vi) + eps));
                mi.StoreUnsafe(ref m, i);
                vi.StoreUnsafe(ref v, i);
                pi.StoreUnsafe(ref p, i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> a1 = Vector128.Create(oneMinusBeta1), a2 = Vector128.Create(oneMinusBeta2);
            Vector128<float> step = Vector128.Create(alpha), eps = Vector128.Create(epsilon), floor = Vector128.Create(MomentFloor);
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> gi = Vector128.LoadUnsafe(ref g, i);
                Vector128<float> mi = Vector128.LoadUnsafe(ref m, i);
                Vector128<float> vi = Vector128.LoadUnsafe(ref v, i);
                mi += (gi - mi) * a1;
                vi += ((gi * gi) - vi) * a2;
                mi = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(Vector128.Abs(mi), floor), mi, Vector128<float>.Zero);
                vi = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(vi, floor), vi, Vector128<float>.Zero);
                Vector128<float> pi = Vector128.LoadUnsafe(ref p, i) - (step * mi / (Vector128.Sqrt(vi) + eps));
                mi.StoreUnsafe(ref m, i);
                vi.StoreUnsafe(ref v, i);
                pi.StoreUnsafe(ref p, i);
            }
        }

        for (; i < n; i++)
        {
            float gi = Unsafe.Add(ref g, i);
            ref float mi = ref Unsafe.Add(ref m, i);
            ref float vi = ref Unsafe.Add(ref v, i);
            mi += (gi - mi) * oneMinusBeta1;
            vi += ((gi * gi) - vi) * oneMinusBeta2;
            mi = MathF.Abs(mi) >= MomentFloor ? mi : 0f;
            vi = vi >= MomentFloor ? vi : 0f;
            Unsafe.Add(ref p, i) -= alpha * mi / (MathF.Sqrt(vi) + epsilon);
        }
    }

    /// <summary>
    /// One AMSGrad step (Adam with the running maximum of the second moments), as <see cref="AdamUpdate"/> with
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
        Span<float> maxSecondMoment, float alpha, float beta1, float beta2, float epsilon)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        CheckSameLength(firstMoment.Length, length, nameof(firstMoment));
        CheckSameLength(secondMoment.Length, length, nameof(secondMoment));
        CheckSameLength(maxSecondMoment.Length, length, nameof(maxSecondMoment));
        float oneMinusBeta1 = 1f - beta1, oneMinusBeta2 = 1f - beta2;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var a1 = new Vector<float>(oneMinusBeta1);
            var a2 = new Vector<float>(oneMinusBeta2);
            var step = new Vector<float>(alpha);
            var eps = new Vector<float>(epsilon);
            var floor = new Vector<float>(MomentFloor);
            for (; i + Vector<float>.Count <= length; i += Vector<float>.Count)
            {
                var gi = new Vector<float>(gradients[i..]);
                var mi = new Vector<float>(firstMoment[i..]);
                var vi = new Vector<float>(secondMoment[i..]);
                mi += (gi - mi) * a1;
                vi += ((gi * gi) - vi) * a2;
                mi = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(Vector.Abs(mi), floor), mi, Vector<float>.Zero);
                vi = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(vi, floor), vi, Vector<float>.Zero);
                var vmax = Vector.Max(new Vector<float>(maxSecondMoment[i..]), vi);
                var pi = new Vector<float>(parameters[i..]) - (step * mi / (Vector.SquareRoot(vmax) + eps));
                mi.CopyTo(firstMoment[i..]);
                vi.CopyTo(secondMoment[i..]);
                vmax.CopyTo(maxSecondMoment[i..]);
                pi.CopyTo(parameters[i..]);
            }
        }

        for (; i < length; i++)
        {
            float gi = gradients[i];
            float mi = firstMoment[i] + ((gi - firstMoment[i]) * oneMinusBeta1);
            float vi = secondMoment[i] + (((gi * gi) - secondMoment[i]) * oneMinusBeta2);
            mi = MathF.Abs(mi) >= MomentFloor ? mi : 0f;
            vi = vi >= MomentFloor ? vi : 0f;
            float vmax = MathF.Max(maxSecondMoment[i], vi);
            firstMoment[i] = mi;
            secondMoment[i] = vi;
            maxSecondMoment[i] = vmax;
            parameters[i] -= alpha * mi / (MathF.Sqrt(vmax) + epsilon);
        }
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
        float learningRate, float rho, float momentum, float epsilon)
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

        float oneMinusRho = 1f - rho;
        for (int i = 0; i < length; i++)
        {
            float g = gradients[i];
            float v = (rho * meanSquare[i]) + (oneMinusRho * (g * g));
            v = v >= MomentFloor ? v : 0f;
            meanSquare[i] = v;
            float denominator;
            if (centered)
            {
                float a = (rho * average[i]) + (oneMinusRho * g);
                average[i] = a;
                denominator = v - (a * a) + epsilon;
            }
            else
            {
                denominator = v + epsilon;
            }

            float increment = learningRate * g / MathF.Sqrt(denominator);
            if (withMomentum)
            {
                float u = (momentum * velocity[i]) + increment;
                velocity[i] = u;
                parameters[i] -= u;
            }
            else
            {
                parameters[i] -= increment;
            }
        }
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
        float learningRate, float momentum, bool nesterov)
    {
        int length = parameters.Length;
        CheckSameLength(gradients.Length, length, nameof(gradients));
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        nuint n = (nuint)length, i = 0;
        if (momentum == 0f)
        {
            if (Vector.IsHardwareAccelerated)
            {
                var lr = new Vector<float>(learningRate);
                for (; i + (nuint)Vector<float>.Count <= n; i += (nuint)Vector<float>.Count)
                {
                    (Vector.LoadUnsafe(ref p, i) - (lr * Vector.LoadUnsafe(ref g, i))).StoreUnsafe(ref p, i);
                }
            }

            for (; i < n; i++)
            {
                Unsafe.Add(ref p, i) -= learningRate * Unsafe.Add(ref g, i);
            }

            return;
        }

        CheckSameLength(velocity.Length, length, nameof(velocity));
        ref float u = ref MemoryMarshal.GetReference(velocity);
        if (Vector.IsHardwareAccelerated)
        {
            var lr = new Vector<float>(learningRate);
            var mu = new Vector<float>(momentum);
            for (; i + (nuint)Vector<float>.Count <= n; i += (nuint)Vector<float>.Count)
            {
                var step = lr * Vector.LoadUnsafe(ref g, i);
                var ui = (mu * Vector.LoadUnsafe(ref u, i)) - step;
                var delta = nesterov ? (mu * ui) - step : ui;
                ui.StoreUnsafe(ref u, i);
                (Vector.LoadUnsafe(ref p, i) + delta).StoreUnsafe(ref p, i);
            }
        }

        for (; i < n; i++)
        {
            float step = learningRate * Unsafe.Add(ref g, i);
            ref float ui = ref Unsafe.Add(ref u, i);
            ui = (momentum * ui) - step;
            Unsafe.Add(ref p, i) += nesterov ? (momentum * ui) - step : ui;
        }
    }

    private static void CheckSameLength(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            ThrowHelper.ThrowLengthMismatch(name, expected, actual);
        }
    }
}
