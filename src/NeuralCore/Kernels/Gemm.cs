using System.Runtime.CompilerServices;
using NeuralCore.Threading;

namespace NeuralCore.Kernels;

/// <summary>
/// Single-precision matrix multiplication: packed panels, register-blocked SIMD micro-kernels and a parallel
/// driver that splits C among threads.
/// </summary>
/// <remarks>
/// A dense layer with weights <c>W[in, out]</c> needs three products, all expressed by <see cref="Multiply"/>:
/// forward <c>Y = X·W</c>; input gradient <c>dX = dY·Wᵀ</c> (<c>transposeB</c>); weight gradient
/// <c>dW += Xᵀ·dY</c> (<c>transposeA</c>, <c>accumulate</c>). Results are bitwise identical for every
/// <see cref="Parallelism.DegreeOfParallelism"/>: the k blocking follows the shape alone, and the blocks of every
/// element are added in block order whichever thread summed them, so the thread count only decides who computes
/// what. Small products run on the calling thread alone (see <see cref="GemmPlan.MinFmaPerThread"/>).
/// </remarks>
public static unsafe class Gemm
{
    [ThreadStatic]
    private static GemmJob? t_job;

    /// <summary>
    /// Computes <c>C = op(A)·op(B)</c>, or <c>C += op(A)·op(B)</c> when <paramref name="accumulate"/> is true, for
    /// row-major matrices: <c>C[i,j] (+)= Σ_p op(A)[i,p]·op(B)[p,j]</c>. Allocates nothing after the first call on a thread.
    /// </summary>
    /// <param name="a">op(A) is <c>[m, k]</c>: <paramref name="a"/> holds <c>[m, k]</c>, or <c>[k, m]</c> when <paramref name="transposeA"/>.</param>
    /// <param name="b">op(B) is <c>[k, n]</c>: <paramref name="b"/> holds <c>[k, n]</c>, or <c>[n, k]</c> when <paramref name="transposeB"/>.</param>
    /// <param name="c">The <c>[m, n]</c> destination; only its first <c>m·n</c> elements are touched.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">The reduction length; 0 gives C = 0 (or leaves C as is when accumulating).</param>
    /// <param name="transposeA">Whether <paramref name="a"/> is stored transposed.</param>
    /// <param name="transposeB">Whether <paramref name="b"/> is stored transposed.</param>
    /// <param name="accumulate">Add to <paramref name="c"/> instead of overwriting it.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    public static void Multiply(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false) =>
        MultiplyOn(KernelIsaSupport.Best, a, b, c, m, n, k, transposeA, transposeB, accumulate);

    /// <summary>
    /// <c>C = A·B</c> for row-major <c>A[m, k]</c>, <c>B[k, n]</c>, leaving out, when <paramref name="skipZeroA"/>, the
    /// steps at which a tile's rows of A are all zero (<see cref="GemmSteps"/>: the same bits wherever B is finite).
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    internal static void MultiplyInput(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool skipZeroA) =>
        MultiplyOn(KernelIsaSupport.Best, a, b, c, m, n, k, false, false, false, GemmEpilogue.None, skipZeroA: skipZeroA);

    /// <summary>
    /// Computes <c>C = op(A)·op(B) + bias</c> (the bias added to every row), followed by ReLU when
    /// <paramref name="relu"/>: a dense layer's forward in one pass over C. Threads divide the reduction first, so
    /// that each reads only its own block of rows of the weights B, the block whose gradient it computed and whose
    /// update it applied (<see cref="WeightGradient"/>): a weight's cache lines then stay on one core.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    internal static void MultiplyAddBias(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias, Span<float> c, int m, int n, int k, bool relu,
        bool skipZeroA = false, GemmNarrow.IRowsDone? rowsDone = null)
    {
        ThrowHelper.CheckLength(bias.Length, n, nameof(bias));
        fixed (float* pBias = bias)
        {
            MultiplyOn(KernelIsaSupport.Best, a, b, c, m, n, k, false, false, false, GemmEpilogue.AddBias(pBias, relu),
                GemmSplit.Reduction, skipZeroA: skipZeroA, rowsDone: rowsDone);
        }
    }

    /// <summary>
    /// <see cref="MultiplyAddBias(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, GemmNarrow.IRowsDone)"/>
    /// with B kept in <paramref name="layout"/>'s panel order (<paramref name="b"/> holds its <c>layout.K·layout.N</c>
    /// values so): <c>C = A·B + bias</c>, then ReLU when <paramref name="relu"/>, for <c>A[m, layout.K]</c>; bitwise the C
    /// of the row-major call, for every m (a few rows too, which the row-major call streams unpacked). An empty
    /// <paramref name="bias"/> without ReLU gives <c>C = A·B</c>, as <see cref="Multiply"/> does. Threads divide the
    /// reduction, or the columns where the layout says a step divides them so (<see cref="PanelLayout.OwnedColumnSlices"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    internal static void MultiplyAddBiasPanels(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, in PanelLayout layout, ReadOnlySpan<float> bias, Span<float> c, int m, bool relu,
        bool skipZeroA = false)
    {
        if (!bias.IsEmpty || relu)
        {
            ThrowHelper.CheckLength(bias.Length, layout.N, nameof(bias));
        }

        fixed (float* pBias = bias)
        {
            MultiplyOn(layout.Isa, a, b, c, m, layout.N, layout.K, false, false, false,
                bias.IsEmpty ? GemmEpilogue.None : GemmEpilogue.AddBias(pBias, relu),
                layout.OwnedColumnSlices(m) > 0 ? GemmSplit.Columns : GemmSplit.Reduction, bPanels: layout, skipZeroA: skipZeroA);
        }
    }

    /// <summary>
    /// <see cref="MultiplyAddBiasPanels"/> and the narrow layer above it in one parallel region:
    /// <c>C = relu?(A·B + bias)</c>, then <c>C2 = C·W2 + bias2</c> (no bias when <paramref name="upperBias"/> is empty)
    /// for <c>W2[layout.N, upperUnits]</c> and <c>C2[m, upperUnits]</c>, where threads own blocks of C's columns
    /// (<see cref="PanelLayout.OwnedColumnSlices"/>) that are whole k blocks of the upper product
    /// (<see cref="GemmNarrow.OwnedUpper.Fits"/>): each thread computes its blocks of C2 from the columns of C it has just
    /// stored, and the caller adds them in block order. Bitwise the two products one after the other. Returns false,
    /// computing nothing, where that does not apply.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or an output overlaps an input or the other output.</exception>
    internal static bool TryMultiplyAddBiasPanelsThenNarrow(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, in PanelLayout layout, ReadOnlySpan<float> bias, Span<float> c, int m, bool relu,
        bool skipZeroA, ReadOnlySpan<float> upperWeights, ReadOnlySpan<float> upperBias, Span<float> upperOut, int upperUnits)
    {
        int slices = layout.OwnedColumnSlices(m);
        if (slices == 0 || !GemmNarrow.OwnedUpper.Fits(layout, slices, m, upperUnits))
        {
            return false;
        }

        CheckTwoLayers(a, b, bias, c, m, layout.N, layout.K, relu, upperWeights, upperBias, upperOut, upperUnits);
        fixed (float* pBias = bias, pw = upperWeights, pUpperBias = upperBias, pOut = upperOut)
        {
            int firstEnd = layout.ColumnSlice(slices, 0).End;
            float* partials = GemmBuffers.Partials(GemmNarrow.OwnedUpper.PartialsLength(m, upperUnits, layout.N, firstEnd));
            var upper = GemmNarrow.OwnedUpper.Create(pw, pOut, partials, upperUnits, layout.N, firstEnd,
                upperBias.IsEmpty ? GemmEpilogue.None : GemmEpilogue.AddBias(pUpperBias, false));
            MultiplyOn(layout.Isa, a, b, c, m, layout.N, layout.K, false, false, false,
                bias.IsEmpty ? GemmEpilogue.None : GemmEpilogue.AddBias(pBias, relu), GemmSplit.Columns, bPanels: layout,
                skipZeroA: skipZeroA, upper: upper);
        }

        return true;
    }

    /// <summary>
    /// Whether the product <see cref="MultiplyAddBiasThenRowsAbove"/> computes for <c>A[m, k]</c> and <c>B[k, n]</c>
    /// (in <paramref name="layout"/>'s panel order where it is valid) on the current thread limit divides its k blocks
    /// among threads and then its rows: where it does, and the layer above fits the narrow path, it computes that layer
    /// too. The same decisions as <see cref="MultiplyOn(KernelIsa, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, bool, in GemmEpilogue, GemmSplit, float*, PackedMatrix?, GemmMaskedProduct, PanelLayout, PanelLayout, bool, in GemmNarrow.OwnedUpper, GemmNarrow.IRowsDone?, in GemmNarrow.RowsAbove)"/>
    /// makes for that call (tests hold the two together).
    /// </summary>
    internal static bool DividesReductionRows(int m, int n, int k, in PanelLayout layout)
    {
        if (m == 0 || n == 0 || k == 0)
        {
            return false;
        }

        KernelIsa isa = layout.IsValid ? layout.Isa : KernelIsaSupport.Best;
        if (!layout.IsValid && (GemmNarrow.Applies(isa, m, n) || m <= GemmRows.MaxRowsFor(isa, false, k, n)))
        {
            // The narrow path or the few-row path: no reduction phase.
            return false;
        }

        GemmSplit split = layout.IsValid && layout.OwnedColumnSlices(m) > 0 ? GemmSplit.Columns : GemmSplit.Reduction;
        GemmPlan plan = GemmPlan.Create(m, n, k, isa, Parallelism.ComputeThreads, split);
        return plan.Threads > 1 && plan.KSlices > 1;
    }

    /// <summary>
    /// A dense layer's forward, <c>C = relu?(A·B + bias)</c> (<see cref="MultiplyAddBias(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, GemmNarrow.IRowsDone)"/>,
    /// or <see cref="MultiplyAddBiasPanels"/> with B in <paramref name="layout"/>'s panel order where it is valid), and,
    /// where its threads divide the reduction and then the rows of C, the narrow layer above on each thread's rows in
    /// the reduction phase (<see cref="GemmNarrow.RowsAbove"/>): <c>C2 = C·W2 + bias2</c> (no bias when
    /// <paramref name="upperBias"/> is empty) for <c>W2[n, upperUnits]</c> and <c>C2[m, upperUnits]</c>, then
    /// <paramref name="done"/> on those rows, on the same thread. C is computed either way; C and C2 are bitwise the two
    /// forwards one after the other.
    /// </summary>
    /// <returns>Whether C2 was computed too; where it was not, the caller computes the layer above.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or an output overlaps an input or the other output.</exception>
    internal static bool MultiplyAddBiasThenRowsAbove(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, in PanelLayout layout, ReadOnlySpan<float> bias, Span<float> c, int m, int n, int k,
        bool relu, bool skipZeroA, ReadOnlySpan<float> upperWeights, ReadOnlySpan<float> upperBias, Span<float> upperOut, int upperUnits,
        GemmNarrow.IRowsDone? done)
    {
        if (layout.IsValid && (layout.N != n || layout.K != k))
        {
            throw new ArgumentException($"B in panel order ({layout.K} x {layout.N}) does not fit a {k} x {n} product.", nameof(layout));
        }

        CheckTwoLayers(a, b, bias, c, m, n, k, relu, upperWeights, upperBias, upperOut, upperUnits);
        KernelIsa isa = layout.IsValid ? layout.Isa : KernelIsaSupport.Best;
        fixed (float* pBias = bias, pw = upperWeights, pUpperBias = upperBias, pOut = upperOut)
        {
            var above = GemmNarrow.Applies(isa, m, upperUnits)
                ? new GemmNarrow.RowsAbove(pw, pOut, upperUnits, n, upperBias.IsEmpty ? GemmEpilogue.None : GemmEpilogue.AddBias(pUpperBias, false), done)
                : default;
            return MultiplyOn(isa, a, b, c, m, n, k, false, false, false, bias.IsEmpty ? GemmEpilogue.None : GemmEpilogue.AddBias(pBias, relu),
                layout.IsValid && layout.OwnedColumnSlices(m) > 0 ? GemmSplit.Columns : GemmSplit.Reduction, bPanels: layout, skipZeroA: skipZeroA,
                rowsAbove: above);
        }
    }

    // The shapes and the aliasing of a dense layer's forward followed by a narrow layer's (C = A·B + bias, then
    // C2 = C·W2 + bias2), checked before either product runs.
    private static void CheckTwoLayers(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias, Span<float> c, int m, int n, int k,
        bool relu, ReadOnlySpan<float> upperWeights, ReadOnlySpan<float> upperBias, Span<float> upperOut, int upperUnits)
    {
        if (!bias.IsEmpty || relu)
        {
            ThrowHelper.CheckLength(bias.Length, n, nameof(bias));
        }

        ThrowHelper.CheckLength(upperWeights.Length, (long)n * upperUnits, nameof(upperWeights));
        ThrowHelper.CheckLength(upperOut.Length, (long)m * upperUnits, nameof(upperOut));
        if (!upperBias.IsEmpty)
        {
            ThrowHelper.CheckLength(upperBias.Length, upperUnits, nameof(upperBias));
        }

        Validate(a, b, c, m, n, k);
        CheckApart(upperOut[..(m * upperUnits)], nameof(upperOut), a, b, c, bias, upperWeights, upperBias, default);
        CheckApart(c[..(m * n)], nameof(c), upperWeights, upperBias, default, default, default, default, default);
    }

    /// <summary>
    /// <see cref="MultiplyAddBias(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, GemmNarrow.IRowsDone)"/>
    /// with B packed beforehand: <c>C = A·B + bias</c>, then ReLU when <paramref name="relu"/>, for <c>A[m, b.K]</c>
    /// and <c>C[m, b.N]</c>. Bitwise the C of the unpacked call.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    internal static void MultiplyAddBiasPacked(ReadOnlySpan<float> a, PackedMatrix b, ReadOnlySpan<float> bias, Span<float> c, int m, bool relu,
        bool skipZeroA = false)
    {
        ThrowHelper.CheckLength(bias.Length, b.N, nameof(bias));
        fixed (float* pBias = bias)
        {
            MultiplyOn(b.Isa, a, b.Values, c, m, b.N, b.K, false, false, false, GemmEpilogue.AddBias(pBias, relu),
                GemmSplit.Reduction, packed: b, skipZeroA: skipZeroA);
        }
    }

    /// <summary>
    /// Two products of a few rows (a prediction for one to <see cref="GemmRows.MaxRows"/> samples) in one parallel
    /// region (<see cref="GemmRows.TryMultiplyPair"/>): <c>H = relu1?(A·B1 + bias1)</c>, then
    /// <c>C = relu2?(H·B2 + bias2)</c>, for <c>A[m, k1]</c>, <c>B1[k1, n1]</c>, <c>H[m, n1]</c>, <c>B2[n1, n2]</c>,
    /// <c>C[m, n2]</c>; each B row-major or, where its chunk width is above 0, in chunks of that many columns
    /// (<see cref="PackedMatrix.Chunked"/>, <see cref="GemmRows.LayoutChunkColumnsFor"/>). An empty bias adds nothing (and then ReLU is not allowed). Bitwise
    /// the two products one after the other. C is written only once A has been read, so it may overlap A; H may overlap
    /// nothing. Returns false, having done nothing, where one region does not apply (<see cref="GemmRows.PairThreads"/>)
    /// or the workers are busy.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, H overlaps another span or C a B or H, or ReLU is asked for without a bias.</exception>
    internal static bool TryMultiplyPairRows(KernelIsa isa, ReadOnlySpan<float> a, ReadOnlySpan<float> b1, int chunkColumns1,
        ReadOnlySpan<float> bias1, bool relu1, Span<float> h, int m, int k1, int n1,
        ReadOnlySpan<float> b2, int chunkColumns2, ReadOnlySpan<float> bias2, bool relu2, Span<float> c, int n2, bool skipZeroA = false)
    {
        ThrowHelper.CheckLength(a.Length, (long)m * k1, nameof(a));
        ThrowHelper.CheckLength(b1.Length, (long)k1 * n1, nameof(b1));
        ThrowHelper.CheckLength(h.Length, (long)m * n1, nameof(h));
        ThrowHelper.CheckLength(b2.Length, (long)n1 * n2, nameof(b2));
        ThrowHelper.CheckLength(c.Length, (long)m * n2, nameof(c));
        CheckPairBias(bias1, relu1, n1, nameof(bias1));
        CheckPairBias(bias2, relu2, n2, nameof(bias2));
        ReadOnlySpan<float> hUsed = h[..(m * n1)], cUsed = c[..(m * n2)];
        ReadOnlySpan<float> aUsed = a[..(m * k1)], b1Used = b1[..(k1 * n1)], b2Used = b2[..(n1 * n2)];
        if (hUsed.Overlaps(aUsed) || hUsed.Overlaps(b1Used) || hUsed.Overlaps(b2Used) || hUsed.Overlaps(cUsed) || hUsed.Overlaps(bias1) || hUsed.Overlaps(bias2))
        {
            ThrowHelper.ThrowOverlap(nameof(h), hUsed.Overlaps(aUsed) ? nameof(a) : hUsed.Overlaps(cUsed) ? nameof(c) : "a weight matrix or bias");
        }

        if (cUsed.Overlaps(b1Used) || cUsed.Overlaps(b2Used) || cUsed.Overlaps(bias1) || cUsed.Overlaps(bias2))
        {
            ThrowHelper.ThrowOverlap(nameof(c), "a weight matrix or bias");
        }

        if (GemmRows.PairThreads(m, k1, n1, n2) < 2)
        {
            return false;
        }

        fixed (float* pa = a, pb1 = b1, pBias1 = bias1, ph = h, pb2 = b2, pBias2 = bias2, pc = c)
        {
            GemmEpilogue epilogue1 = bias1.IsEmpty ? GemmEpilogue.None : GemmEpilogue.AddBias(pBias1, relu1);
            GemmEpilogue epilogue2 = bias2.IsEmpty ? GemmEpilogue.None : GemmEpilogue.AddBias(pBias2, relu2);
            return GemmRows.TryMultiplyPair(isa, pa, pb1, chunkColumns1, epilogue1, ph, m, k1, n1, pb2, chunkColumns2, epilogue2, pc, n2, skipZeroA);
        }
    }

    private static void CheckPairBias(ReadOnlySpan<float> bias, bool relu, int n, string name)
    {
        if (bias.IsEmpty)
        {
            if (relu)
            {
                throw new ArgumentException("ReLU in the product's stores needs a bias (zeros for none).", name);
            }

            return;
        }

        ThrowHelper.CheckLength(bias.Length, n, name);
    }

    /// <summary><c>C = A·B</c> with B packed beforehand, for <c>A[m, b.K]</c> and <c>C[m, b.N]</c>; bitwise the C of <see cref="Multiply(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, bool)"/>.</summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    internal static void MultiplyPacked(ReadOnlySpan<float> a, PackedMatrix b, Span<float> c, int m, bool skipZeroA = false) =>
        MultiplyOn(b.Isa, a, b.Values, c, m, b.N, b.K, false, false, false, GemmEpilogue.None, packed: b, skipZeroA: skipZeroA);

    /// <summary>
    /// Computes <c>C = (op(A)·op(B)) ⊙ [mask &gt; 0]</c>: an input gradient through the ReLU whose output is
    /// <paramref name="mask"/>, in one pass over C.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    internal static void MultiplyReluMasked(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> mask, Span<float> c, int m, int n, int k,
        bool transposeB)
    {
        ThrowHelper.CheckLength(mask.Length, (long)m * n, nameof(mask));
        fixed (float* pMask = mask)
        {
            MultiplyOn(KernelIsaSupport.Best, a, b, c, m, n, k, false, transposeB, false, GemmEpilogue.MaskRelu(pMask, n));
        }
    }

    /// <summary>
    /// A dense layer's parameter gradients in one product: <c>weightGrad (+)= inputᵀ·outputGrad</c> and
    /// <c>biasGrad (+)= Σ_rows outputGrad</c> (rows added in increasing order; skipped when <paramref name="biasGrad"/> is empty), the column sums taken while
    /// <paramref name="outputGrad"/> is packed. Threads split the weight gradient into contiguous blocks of rows as
    /// <see cref="RowPartition"/> says, so that an optimizer can update each block on the core that wrote it; weights
    /// in panel order that a step divides by columns (<see cref="PanelLayout.OwnedColumnSlices"/>), into those columns.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or the output overlaps an input.</exception>
    internal static void WeightGradient(
        ReadOnlySpan<float> input, ReadOnlySpan<float> outputGrad, Span<float> weightGrad, Span<float> biasGrad,
        int inFeatures, int units, int batch, bool accumulate, in PanelLayout weightLayout = default, bool skipZeroA = false) =>
        WeightGradientOn(weightLayout.IsValid ? weightLayout.Isa : KernelIsaSupport.Best, input, outputGrad, weightGrad, biasGrad,
            inFeatures, units, batch, accumulate, default, weightLayout, skipZeroA);

    // The weight gradient and the bias gradient (the column sums of B, taken while B is packed) of both entries above and
    // below: B is outputGrad, or the mask of a product computed while it is packed.
    internal static void WeightGradientOn(KernelIsa isa,
        ReadOnlySpan<float> input, ReadOnlySpan<float> b, Span<float> weightGrad, Span<float> biasGrad,
        int inFeatures, int units, int batch, bool accumulate, GemmMaskedProduct productB, in PanelLayout weightLayout = default,
        bool skipZeroA = false)
    {
        // Weights that a step divides by columns (PanelLayout.OwnedColumnSlices) have their gradient divided so too.
        GemmSplit split = weightLayout.OwnedColumnSlices(batch) > 0 ? GemmSplit.Columns : GemmSplit.Rows;
        if (biasGrad.IsEmpty)
        {
            // A layer without a bias: the weight gradient alone.
            MultiplyOn(isa, input, b, weightGrad, inFeatures, units, batch, true, false, accumulate,
                GemmEpilogue.None, split, productB: productB, cPanels: weightLayout, skipZeroA: skipZeroA);
            return;
        }

        ThrowHelper.CheckLength(biasGrad.Length, units, nameof(biasGrad));
        if (!accumulate)
        {
            biasGrad[..units].Clear();
        }

        if (inFeatures == 0 && productB.IsEmpty)
        {
            // No weights: the product does nothing, but the bias still has its gradient.
            Elementwise.AccumulateColumnSums(b[..(batch * units)], biasGrad[..units], batch);
            return;
        }

        fixed (float* sums = biasGrad)
        {
            MultiplyOn(isa, input, b, weightGrad, inFeatures, units, batch, true, false, accumulate,
                GemmEpilogue.None, split, columnSums: sums, productB: productB, cPanels: weightLayout, skipZeroA: skipZeroA);
        }
    }

    /// <summary>
    /// The parameter gradients of a dense layer whose ReLU output feeds a narrow dense layer, with the gradient between
    /// them never stored: <c>weightGrad (+)= inputᵀ·∂Z</c> and <c>biasGrad (+)= Σ_rows ∂Z</c>, where
    /// <c>∂Z = (upperGrad·upperWeightsᵀ) ⊙ [reluOutput &gt; 0]</c>. Shapes: input <c>[batch, inFeatures]</c>, upperGrad
    /// <c>[batch, upperUnits]</c>, upperWeights <c>[units, upperUnits]</c>, reluOutput <c>[batch, units]</c>, weightGrad
    /// <c>[inFeatures, units]</c>, biasGrad <c>[units]</c> or empty. With a non-empty <paramref name="upperWeightGrad"/>
    /// (<c>[units, upperUnits]</c>), also the upper layer's parameter gradients, bitwise what <see cref="WeightGradient"/>
    /// gives them: <c>upperWeightGrad (+)= reluOutputᵀ·upperGrad</c> and <c>upperBiasGrad (+)= Σ_rows upperGrad</c>
    /// (<c>[upperUnits]</c> or empty).
    /// </summary>
    /// <remarks>
    /// ∂Z is computed while the weight gradient packs it (<see cref="GemmMaskedProduct"/>), by every thread for all of it
    /// where threads divide the weight gradient's rows, or for its own columns where they own columns
    /// (<see cref="PanelLayout.OwnedColumnSlices"/>): at most <see cref="GemmMaskedProduct.MaxRank"/> multiply-adds per
    /// value, against the round trip of <c>batch × units</c> floats through memory, which on two cores crossed from the
    /// core that stored them to the one that packed them. The results are bitwise those of
    /// <see cref="MultiplyReluMasked"/> followed by <see cref="WeightGradient"/>, with the same partition among threads.
    /// On the 512-bit path the upper weight gradient is computed by the same threads from the rows they read for the
    /// mask (the threads that pack a chunk dividing its columns' rows), instead of by one thread before this product:
    /// 11 µs of 128 x 512 x 10 that the other core waited for (AMD EPYC Zen 5, 2 real cores).
    /// </remarks>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or the output overlaps an input.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="upperUnits"/> is not in [1, <see cref="GemmMaskedProduct.MaxRank"/>].</exception>
    internal static void WeightGradientThroughRelu(
        ReadOnlySpan<float> input, ReadOnlySpan<float> upperGrad, ReadOnlySpan<float> upperWeights, ReadOnlySpan<float> reluOutput,
        Span<float> weightGrad, Span<float> biasGrad, int inFeatures, int units, int batch, int upperUnits, bool accumulate,
        in PanelLayout weightLayout = default, Span<float> upperWeightGrad = default, Span<float> upperBiasGrad = default, bool skipZeroA = false) =>
        WeightGradientThroughReluOn(weightLayout.IsValid ? weightLayout.Isa : KernelIsaSupport.Best, input, upperGrad, upperWeights, reluOutput, weightGrad, biasGrad,
            inFeatures, units, batch, upperUnits, accumulate, weightLayout, upperWeightGrad, upperBiasGrad, skipZeroA);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void WeightGradientThroughReluOn(KernelIsa isa,
        ReadOnlySpan<float> input, ReadOnlySpan<float> upperGrad, ReadOnlySpan<float> upperWeights, ReadOnlySpan<float> reluOutput,
        Span<float> weightGrad, Span<float> biasGrad, int inFeatures, int units, int batch, int upperUnits, bool accumulate,
        in PanelLayout weightLayout = default, Span<float> upperWeightGrad = default, Span<float> upperBiasGrad = default, bool skipZeroA = false)
    {
        // Its input gradient is computed while packing, for at most MaxRank units.
        Check.InRange(upperUnits, 1, GemmMaskedProduct.MaxRank, nameof(upperUnits), "the upper layer's units");
        // With no weights the product would not run, and the bias gradient, summed while B is packed, would be lost.
        Check.Positive(inFeatures, nameof(inFeatures), "number of input features");

        ThrowHelper.CheckNonNegative(batch, nameof(batch));
        ThrowHelper.CheckNonNegative(units, nameof(units));
        ThrowHelper.CheckLength(upperGrad.Length, (long)batch * upperUnits, nameof(upperGrad));
        ThrowHelper.CheckLength(upperWeights.Length, (long)units * upperUnits, nameof(upperWeights));
        if (weightGrad.Overlaps(upperGrad) || weightGrad.Overlaps(upperWeights))
        {
            ThrowHelper.ThrowOverlap(nameof(weightGrad), weightGrad.Overlaps(upperGrad) ? nameof(upperGrad) : nameof(upperWeights));
        }

        bool upper = !upperWeightGrad.IsEmpty;
        if (upper)
        {
            ThrowHelper.CheckLength(upperWeightGrad.Length, (long)units * upperUnits, nameof(upperWeightGrad));
            ThrowHelper.CheckLength(reluOutput.Length, (long)batch * units, nameof(reluOutput));
            if (!upperBiasGrad.IsEmpty)
            {
                ThrowHelper.CheckLength(upperBiasGrad.Length, upperUnits, nameof(upperBiasGrad));
            }

            // Both outputs are written while the other operands are read, and checked before anything is written.
            CheckApart(upperWeightGrad[..(units * upperUnits)], nameof(upperWeightGrad), input, upperGrad, upperWeights, reluOutput, weightGrad, biasGrad, upperBiasGrad);
            if (!upperBiasGrad.IsEmpty)
            {
                CheckApart(upperBiasGrad[..upperUnits], nameof(upperBiasGrad), input, upperGrad, upperWeights, reluOutput, weightGrad, biasGrad, default);
            }
        }
        else if (!upperBiasGrad.IsEmpty)
        {
            throw new ArgumentException("An upper bias gradient needs the upper weight gradient as well.", nameof(upperBiasGrad));
        }

        // In the product where it can be (the 512-bit path, with rows to sum); apart, as the upper layer computes it, otherwise.
        bool fused = upper && GemmMaskedProduct.CanComputeUpperWeightGrad(isa) && batch > 0 && units > 0;
        fixed (float* pg = upperGrad, pv = upperWeights, pu = upperWeightGrad)
        {
            // The mask stands in for B in the checks and the plan: it has B's shape, [batch, units].
            WeightGradientOn(isa, input, reluOutput, weightGrad, biasGrad, inFeatures, units, batch, accumulate,
                new GemmMaskedProduct(pg, pv, upperUnits, isa, fused ? pu : null, accumulate), weightLayout, skipZeroA);
        }

        if (!upper)
        {
            return;
        }

        if (!fused)
        {
            WeightGradientOn(isa, reluOutput, upperGrad, upperWeightGrad, upperBiasGrad, units, upperUnits, batch, accumulate, default);
        }
        else if (!upperBiasGrad.IsEmpty)
        {
            // The column sums the upper layer's own product takes while packing its B: rows added in increasing order.
            if (!accumulate)
            {
                upperBiasGrad[..upperUnits].Clear();
            }

            Elementwise.AccumulateColumnSums(upperGrad[..(batch * upperUnits)], upperBiasGrad[..upperUnits], batch);
        }
    }

    // Throws when `output` shares memory with any of the other spans (empty ones overlap nothing).
    private static void CheckApart(Span<float> output, string name, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c,
        ReadOnlySpan<float> d, ReadOnlySpan<float> e, ReadOnlySpan<float> f, ReadOnlySpan<float> g)
    {
        ReadOnlySpan<float> o = output;
        if (o.Overlaps(a) || o.Overlaps(b) || o.Overlaps(c) || o.Overlaps(d) || o.Overlaps(e) || o.Overlaps(f) || o.Overlaps(g))
        {
            ThrowHelper.ThrowOverlap(name, "another operand");
        }
    }

    /// <summary>
    /// How <see cref="WeightGradient"/> divides a <c>[m, n]</c> weight gradient with reduction length <paramref name="k"/>
    /// among threads: <paramref name="slices"/> blocks of rows, block s covering panels
    /// <see cref="GemmPlan.Slice"/>(panels, slices, s) of <paramref name="mr"/> rows each.
    /// </summary>
    internal static void RowPartition(int m, int n, int k, out int slices, out int mr)
    {
        GemmPlan plan = GemmPlan.Create(m, n, k, KernelIsaSupport.Best, Parallelism.ComputeThreads, GemmSplit.Rows);
        slices = plan.RowSlices;
        mr = plan.Mr;
    }

    /// <summary>As the public overload, on an explicit instruction-set path (tests and benchmarks).</summary>
    internal static void MultiplyOn(
        KernelIsa isa, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false) =>
        MultiplyOn(isa, a, b, c, m, n, k, transposeA, transposeB, accumulate, GemmEpilogue.None);

    /// <summary>
    /// As the public overload, on an explicit path, with an epilogue applied to each finished sum, divided among threads
    /// as <paramref name="split"/> says, and optionally adding the column sums of op(B) (not transposed) to
    /// <paramref name="columnSums"/>. <paramref name="packed"/>, when given, is <paramref name="b"/> copied by
    /// <see cref="PackedMatrix.Pack"/>: a product of a few rows reads its column chunks, a larger one its panels when
    /// they fit the plan. <paramref name="rowsDone"/>, where the product takes the narrow path (<see cref="GemmNarrow"/>),
    /// runs on each slice of finished rows on the thread that computed it; on the other paths it is not called.
    /// <paramref name="rowsAbove"/>, where the product's threads divide its reduction and then its rows, computes the
    /// narrow layer above on each thread's rows in the reduction phase (<see cref="GemmNarrow.RowsAbove"/>).
    /// </summary>
    /// <returns>Whether <paramref name="rowsAbove"/> was computed; where it was not, the caller computes that layer.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool MultiplyOn(
        KernelIsa isa, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA, bool transposeB, bool accumulate, in GemmEpilogue epilogue,
        GemmSplit split = GemmSplit.Auto, float* columnSums = null, PackedMatrix? packed = null, GemmMaskedProduct productB = default,
        PanelLayout bPanels = default, PanelLayout cPanels = default, bool skipZeroA = false, in GemmNarrow.OwnedUpper upper = default,
        GemmNarrow.IRowsDone? rowsDone = null, in GemmNarrow.RowsAbove rowsAbove = default)
    {
        Validate(a, b, c, m, n, k);
        if (bPanels.IsValid && (bPanels.K != k || bPanels.N != n || bPanels.Isa != isa || transposeB || packed is not null || columnSums is not null || !productB.IsEmpty))
        {
            throw new ArgumentException($"B in panel order ({bPanels.K} x {bPanels.N}, {bPanels.Isa}) does not fit a {k} x {n} product on {isa}.", nameof(bPanels));
        }

        if (productB.UpperWeightGrad is not null && split is not (GemmSplit.Rows or GemmSplit.Columns))
        {
            // Each chunk's shares of the upper gradient must be packed by one k slice, block after block (a bug, not input).
            throw new InvalidOperationException("A masked product that computes the upper weight gradient must divide its rows or its columns only.");
        }

        if (cPanels.IsValid && (cPanels.K != m || cPanels.N != n || cPanels.Isa != isa || epilogue.Kind != GemmEpilogueKind.None || split == GemmSplit.Reduction))
        {
            throw new ArgumentException($"C in panel order ({cPanels.K} x {cPanels.N}, {cPanels.Isa}) does not fit a {m} x {n} product on {isa}.", nameof(cPanels));
        }

        if (packed is not null && (packed.K != k || packed.N != n))
        {
            throw new ArgumentException($"The packed B is {packed.K} x {packed.N}, but the product's B is {k} x {n}.", nameof(packed));
        }

        if (columnSums is not null && (transposeB || split == GemmSplit.Reduction))
        {
            throw new ArgumentException("Column sums are taken of a B that is not transposed, in a product whose reduction is not split.", nameof(transposeB));
        }

        if (m == 0 || n == 0)
        {
            return false;
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                c[..(m * n)].Clear();
            }

            if (epilogue.Kind != GemmEpilogueKind.None)
            {
                fixed (float* pc = c)
                {
                    for (int i = 0; i < m; i++)
                    {
                        epilogue.ApplyRow(pc + ((long)i * n), i, 0, n);
                    }
                }
            }

            return false;
        }

        bool panelOrder = bPanels.IsValid || cPanels.IsValid;
        if (!panelOrder && GemmNarrow.Applies(isa, m, n) && !transposeA && !transposeB && columnSums is null && productB.IsEmpty)
        {
            // A C of at most 16 columns (the output layer): sixteen rows of A against each widened row of B, no packing.
            fixed (float* pa = a, pb = b, pc = c)
            {
                GemmNarrow.Multiply(pa, pb, pc, m, n, k, accumulate, epilogue, rowsDone);
            }

            return false;
        }

        if (!panelOrder && m <= GemmRows.MaxRowsFor(isa, packed is not null, k, n) && !transposeA && !transposeB && columnSums is null
            && productB.IsEmpty)
        {
            // One to a few samples: stream B once per row instead of packing it (same arithmetic, see GemmRows), from
            // its column chunks when it was copied in them.
            fixed (float* pa = a, pb = packed is null ? b : packed.Chunked, pc = c)
            {
                GemmRows.Multiply(isa, pa, pb, pc, m, n, k, accumulate, epilogue, chunkColumns: packed?.ChunkColumns ?? 0, skipZeroA);
            }

            return false;
        }

        var plan = GemmPlan.Create(m, n, k, isa, Parallelism.ComputeThreads, split);

        // Panels packed for another tile width or k blocking cannot stand in for this plan's; B itself is then packed.
        bool prepacked = packed is { HasPanels: true } && packed.Isa == isa && packed.Nr == plan.Nr && packed.Kc == plan.Kc
            && !transposeB && columnSums is null && productB.IsEmpty;
        if ((bPanels.IsValid && (bPanels.Nr != plan.Nr || bPanels.Kc != plan.Kc)) || (cPanels.IsValid && (cPanels.Nr != plan.Nr || plan.KSlices != 1)))
        {
            // Both follow from the shape and the path (PanelLayout.TryCreate); a mismatch is a bug, not bad input.
            throw new InvalidOperationException($"The panel order (Nr {(bPanels.IsValid ? bPanels.Nr : cPanels.Nr)}) does not match the plan of a {m} x {n} x {k} product (Nr {plan.Nr}, Kc {plan.Kc}).");
        }

        // The layer above goes on each thread's rows where the last phase divides them (the reduction of a split
        // product); elsewhere the caller computes it after the product.
        bool above = !rowsAbove.IsEmpty && plan.Threads > 1 && plan.KSlices > 1 && upper.IsEmpty;
        if (above && rowsAbove.K != n)
        {
            throw new InvalidOperationException($"The layer above reads {rowsAbove.K} columns, but the product has {n} (a bug, not input).");
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            GemmJob job = t_job ??= new GemmJob();
            float* packedB = bPanels.IsValid ? pb : prepacked ? packed!.Panels : null;
            long packedStride = bPanels.IsValid ? n : prepacked ? packed!.PanelStride : 0;
            if (!upper.IsEmpty && (split != GemmSplit.Columns || plan.RowSlices != 1 || plan.KSlices != 1 || upper.K != n))
            {
                // The upper product reads whole columns of C from the thread that finished them (a bug, not input).
                throw new InvalidOperationException("A narrow product above needs a product divided by columns only.");
            }

            job.Set(plan, pa, pb, pc, m, n, k, transposeA, transposeB, accumulate, epilogue, columnSums,
                packedB, packedStride, productB, cPanels, skipZeroA, upper, above ? rowsAbove : default);
            try
            {
                if (plan.Threads == 1)
                {
                    job.Execute(0);
                }
                else
                {
                    WorkerPool.Run(job, job.Items, plan.Threads);
                    if (plan.KSlices > 1)
                    {
                        job.BeginReduction();
                        WorkerPool.Run(job, plan.Threads, plan.Threads);
                    }
                }
            }
            finally
            {
                job.Clear();
            }

            if (!upper.IsEmpty)
            {
                upper.Finish(m);
            }
        }

        // The panels are read through a pointer: the matrix (whose array is pinned, not held) must outlive the product
        // even when the caller's last reference to it was the argument.
        GC.KeepAlive(packed);
        return above;
    }

    internal static void Validate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, int m, int n, int k)
    {
        ThrowHelper.CheckNonNegative(m, nameof(m));
        ThrowHelper.CheckNonNegative(n, nameof(n));
        ThrowHelper.CheckNonNegative(k, nameof(k));
        long aLength = (long)m * k, bLength = (long)k * n, cLength = (long)m * n;
        ThrowHelper.CheckLength(a.Length, aLength, nameof(a));
        ThrowHelper.CheckLength(b.Length, bLength, nameof(b));
        ThrowHelper.CheckLength(c.Length, cLength, nameof(c));
        ReadOnlySpan<float> used = c[..(int)cLength];
        if (used.Overlaps(a[..(int)aLength]))
        {
            ThrowHelper.ThrowOverlap(nameof(c), nameof(a));
        }

        if (used.Overlaps(b[..(int)bLength]))
        {
            ThrowHelper.ThrowOverlap(nameof(c), nameof(b));
        }
    }
}
