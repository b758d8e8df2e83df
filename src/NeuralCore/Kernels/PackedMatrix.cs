namespace NeuralCore.Kernels;

/// <summary>
/// A row-major <c>B[k, n]</c> packed once, k block by k block, into the panels the micro-kernels read
/// (<see cref="GemmPacking.PackB"/>: block kb of every column at <c>Panels + kb·Kc·(NPanels·Nr)</c>, panel q of it
/// <c>q·Nr·kc</c> further), beside copies of B for the paths that read it unpacked: row-major for a C of at most 16
/// columns on the 512-bit path (and for a plan the panels do not fit), and in column chunks (<see cref="Chunked"/>) for
/// a product of few rows (<see cref="GemmRows.MaxRowsFor"/>). A product that multiplies by
/// the same B many times then skips packing it; the panels hold B's values unchanged, so results are bitwise those of
/// the product on B. Immutable once built: safe to read from several threads at once.
/// </summary>
internal sealed unsafe class PackedMatrix
{
    private readonly float[]? _panels;

    // B's copy starts on a 64-byte boundary inside this pinned array: a 512-bit load that straddles two cache lines
    // costs two, and the unpacked paths load every value of B once per product (a one-sample prediction of 784-512-256-10
    // took 12% longer from a copy 16 bytes past a boundary).
    private readonly float[] _values;
    private readonly int _valuesStart;

    // B in chunks of ChunkColumns columns for the few-rows path, from a 64-byte boundary; null when B has at most one
    // chunk, which is then B itself.
    private readonly float[]? _chunked;
    private readonly int _chunkedStart;

    private PackedMatrix(float[] values, int valuesStart, float[]? panels, int k, int n, KernelIsa isa, int kc, int nr, int nPanels)
    {
        _values = values;
        _valuesStart = valuesStart;
        _panels = panels;
        ChunkColumns = GemmRows.LayoutChunkColumnsFor(isa);
        if (n > ChunkColumns)
        {
            _chunked = GemmBuffers.Allocate((long)k * n, "Copying a weight matrix in column chunks");
            fixed (float* start = _chunked)
            {
                _chunkedStart = (int)(GemmBuffers.Aligned(_chunked) - start);
            }

            ReadOnlySpan<float> source = values.AsSpan(valuesStart, k * n);
            Span<float> destination = _chunked.AsSpan(_chunkedStart, k * n);
            for (int c0 = 0; c0 < n; c0 += ChunkColumns)
            {
                int width = Math.Min(ChunkColumns, n - c0);
                for (int p = 0; p < k; p++)
                {
                    source.Slice((p * n) + c0, width).CopyTo(destination.Slice((c0 * k) + (p * width), width));
                }
            }
        }
        (K, N, Isa, Kc, Nr, PanelStride) = (k, n, isa, kc, nr, (long)nPanels * nr);
    }

    /// <summary>Rows of B (the reduction length).</summary>
    public int K { get; }

    /// <summary>Columns of B.</summary>
    public int N { get; }

    /// <summary>The instruction-set path whose tile width the panels have.</summary>
    public KernelIsa Isa { get; }

    /// <summary>The k blocking the panels were cut with (it follows from K alone).</summary>
    public int Kc { get; }

    /// <summary>The panels' width.</summary>
    public int Nr { get; }

    /// <summary>Floats per row of a k block: every column panel's width, padded columns included.</summary>
    public long PanelStride { get; }

    /// <summary>The copy of B, <c>[K, N]</c> row-major, from a 64-byte boundary.</summary>
    public ReadOnlySpan<float> Values => _values.AsSpan(_valuesStart, K * N);

    /// <summary>Columns per chunk of <see cref="Chunked"/>: <see cref="GemmRows.LayoutChunkColumnsFor"/> of <see cref="Isa"/>.</summary>
    public int ChunkColumns { get; }

    /// <summary>
    /// B in chunks of <see cref="ChunkColumns"/> columns, each <c>K</c> rows of its width one after the
    /// other, from a 64-byte boundary: what the few-rows path reads (<see cref="GemmRows.Multiply"/> with <c>chunkColumns</c>).
    /// For an N of at most one chunk this is <see cref="Values"/>.
    /// </summary>
    public ReadOnlySpan<float> Chunked => _chunked is null ? Values : _chunked.AsSpan(_chunkedStart, K * N);

    /// <summary>
    /// Whether B was packed: not for a C of at most 16 columns on the 512-bit path, whose products of more than
    /// <see cref="GemmRows.MaxRows"/> rows read B itself (<see cref="GemmNarrow"/>), as do smaller ones.
    /// </summary>
    public bool HasPanels => _panels is not null;

    /// <summary>The first panel, 64-byte aligned (the array lives on the pinned object heap); null without panels.</summary>
    public float* Panels => _panels is null ? null : GemmBuffers.Aligned(_panels);

    /// <summary>Copies and packs <paramref name="b"/> for products on <paramref name="isa"/>.</summary>
    /// <param name="b">The <c>[k, n]</c> row-major matrix.</param>
    /// <param name="k">Rows of B; positive.</param>
    /// <param name="n">Columns of B; positive.</param>
    /// <param name="isa">The path the products will run on.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="b"/> is shorter than <c>k·n</c>.</exception>
    /// <exception cref="InsufficientMemoryException">The copy or the panels are larger than one array can hold.</exception>
    public static PackedMatrix Pack(ReadOnlySpan<float> b, int k, int n, KernelIsa isa)
    {
        Check.Positive(k, nameof(k), "rows");
        Check.Positive(n, nameof(n), "columns");
        ThrowHelper.CheckLength(b.Length, (long)k * n, nameof(b));

        // The tile width and k blocking of any product with this B on this path (neither depends on its rows).
        GemmPlan plan = GemmPlan.Create(GemmRows.MaxRows + 1, n, k, isa, 1);
        float[] values = GemmBuffers.Allocate((long)k * n, "Copying a weight matrix");
        int valuesStart;
        fixed (float* start = values)
        {
            valuesStart = (int)(GemmBuffers.Aligned(values) - start);
        }

        b[..(k * n)].CopyTo(values.AsSpan(valuesStart));
        if (GemmNarrow.Applies(isa, GemmRows.MaxRows + 1, n))
        {
            return new PackedMatrix(values, valuesStart, null, k, n, isa, plan.Kc, plan.Nr, plan.NPanels);
        }

        long length = (long)k * plan.NPanels * plan.Nr;
        float[] panels = GemmBuffers.Allocate(length, "Packing a weight matrix");
        var packed = new PackedMatrix(values, valuesStart, panels, k, n, isa, plan.Kc, plan.Nr, plan.NPanels);
        fixed (float* pb = packed.Values)
        {
            float* dst = packed.Panels;
            for (int kb = 0; kb < plan.KBlocks; kb++)
            {
                int p0 = kb * plan.Kc;
                GemmPacking.PackB(dst + (p0 * packed.PanelStride), pb, n, k, false, 0, n, p0, Math.Min(plan.Kc, k - p0), plan.Nr);
            }
        }

        return packed;
    }
}
