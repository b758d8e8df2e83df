using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NeuralCore.Kernels;
using NeuralCore.Losses;

namespace NeuralCore.Data;

/// <summary>
/// Samples as the training loop reads them, without copying them first: features stored as floats, or as bytes that
/// each read divides by a constant (MNIST's pixels / 255, a quarter of the memory and of the traffic); targets as
/// class labels or rows of <see cref="TargetSize"/> values; optional per-sample weights.
/// </summary>
/// <remarks>Callers check indices and lengths; this type only moves data.</remarks>
internal readonly struct SampleSource
{
    private readonly ReadOnlyMemory<float> _floats;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly float _divisor;

    public SampleSource(ReadOnlyMemory<float> features, ReadOnlyMemory<int> labels, int featureSize, ReadOnlyMemory<float> weights = default)
    {
        _floats = features;
        Labels = labels;
        FeatureSize = featureSize;
        Weights = weights;
        HasLabels = true;
        TargetSize = 1;
        Count = labels.Length;
    }

    public SampleSource(ReadOnlyMemory<float> features, ReadOnlyMemory<float> targets, int targetSize, int featureSize, ReadOnlyMemory<float> weights = default)
    {
        _floats = features;
        Targets = targets;
        TargetSize = targetSize;
        FeatureSize = featureSize;
        Weights = weights;
        Count = targets.Length / targetSize;
    }

    public SampleSource(ReadOnlyMemory<byte> features, float divisor, ReadOnlyMemory<int> labels, int featureSize, ReadOnlyMemory<float> weights = default)
    {
        _bytes = features;
        _divisor = divisor;
        Labels = labels;
        FeatureSize = featureSize;
        Weights = weights;
        IsBytes = true;
        HasLabels = true;
        TargetSize = 1;
        Count = labels.Length;
    }

    private SampleSource(in SampleSource source, int start, int count)
    {
        this = source;
        if (IsBytes)
        {
            _bytes = source._bytes.Slice(start * FeatureSize, count * FeatureSize);
        }
        else
        {
            _floats = source._floats.Slice(start * FeatureSize, count * FeatureSize);
        }

        Labels = HasLabels ? source.Labels.Slice(start, count) : default;
        Targets = HasLabels ? default : source.Targets.Slice(start * TargetSize, count * TargetSize);
        Weights = source.Weights.IsEmpty ? default : source.Weights.Slice(start, count);
        Count = count;
    }

    private SampleSource(in SampleSource source, ReadOnlyMemory<float> weights)
    {
        this = source;
        Weights = weights;
    }

    public ReadOnlyMemory<int> Labels { get; }

    public ReadOnlyMemory<float> Targets { get; }

    public ReadOnlyMemory<float> Weights { get; }

    /// <summary>The same samples, in the same storage (bytes stay bytes), with <paramref name="weights"/> (<c>[Count]</c>).</summary>
    public SampleSource WithWeights(ReadOnlyMemory<float> weights) => weights.Length == Count
        ? new(this, weights)
        : throw new ArgumentException($"Expected {Count} weights, one per sample. Received: {weights.Length}.", nameof(weights));

    public bool HasLabels { get; }

    /// <summary>Values per target row (1 for labels).</summary>
    public int TargetSize { get; }

    public int FeatureSize { get; }

    public int Count { get; }

    /// <summary>Whether the features are stored as bytes.</summary>
    public bool IsBytes { get; }

    /// <summary>The targets of samples <c>[start, start + count)</c>, with their weights.</summary>
    public LossTargets TargetsOf(int start, int count) => HasLabels
        ? LossTargets.FromLabels(Labels.Span.Slice(start, count), Weights.IsEmpty ? default : Weights.Span.Slice(start, count))
        : LossTargets.FromValues(Targets.Span.Slice(start * TargetSize, count * TargetSize), Weights.IsEmpty ? default : Weights.Span.Slice(start, count));

    /// <summary>All the targets, with their weights.</summary>
    public LossTargets AllTargets => TargetsOf(0, Count);

    /// <summary>Samples <c>[start, start + count)</c>, without copying.</summary>
    public SampleSource Slice(int start, int count) => new(this, start, count);

    /// <summary>The float features of samples <c>[start, start + count)</c> in place, when they are stored as floats.</summary>
    public bool TryGetFloats(int start, int count, out ReadOnlySpan<float> features)
    {
        features = IsBytes ? default : _floats.Span.Slice(start * FeatureSize, count * FeatureSize);
        return !IsBytes;
    }

    /// <summary>Writes the features of samples <c>[start, start + count)</c> as floats.</summary>
    public void CopyFeatures(int start, int count, Span<float> destination)
    {
        if (IsBytes)
        {
            Elementwise.BytesToSingles(_bytes.Span.Slice(start * FeatureSize, count * FeatureSize), destination, _divisor);
        }
        else
        {
            _floats.Span.Slice(start * FeatureSize, count * FeatureSize).CopyTo(destination);
        }
    }

    // Rows of a gather whose loads are started ahead of the row being converted.
    private const int PrefetchRows = 4;

    /// <summary>
    /// Writes sample <c>indices[r]</c>'s features to row r of <paramref name="features"/>, and its label to
    /// <paramref name="labels"/>[r] or its target row to row r of <paramref name="targets"/>, and its weight to
    /// <paramref name="weights"/>[r] when the samples are weighted and it is not empty.
    /// </summary>
    /// <param name="indices">The samples, one per row.</param>
    /// <param name="features">The <c>[indices.Length, FeatureSize]</c> rows to write.</param>
    /// <param name="labels">The labels to write, for a source of labels.</param>
    /// <param name="targets">The target rows to write, for a source of target values.</param>
    /// <param name="weights">The weights to write, or empty.</param>
    /// <param name="streaming">Write byte features with streaming stores (<see cref="Elementwise.BytesToSinglesStreaming(ReadOnlySpan{byte}, Span{float}, float)"/>), for a
    /// buffer another core reads; the caller fences before that core reads it.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Gather(ReadOnlySpan<int> indices, Span<float> features, Span<int> labels, Span<float> targets, Span<float> weights,
        bool streaming = false)
    {
        GatherFeatures(indices, features, streaming);
        GatherTargets(indices, labels, targets, weights);
    }

    // The features of Gather: row by row, each row's loads started a few rows ahead.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GatherFeatures(ReadOnlySpan<int> indices, Span<float> features, bool streaming)
    {
        int size = FeatureSize;
        ReadOnlySpan<byte> bytes = _bytes.Span;
        ReadOnlySpan<float> floats = _floats.Span;
        for (int r = 0; r < Math.Min(PrefetchRows, indices.Length); r++)
        {
            Elementwise.Prefetch(RowBytes(indices[r]));
        }

        for (int r = 0; r < indices.Length; r++)
        {
            if (r + PrefetchRows < indices.Length)
            {
                Elementwise.Prefetch(RowBytes(indices[r + PrefetchRows]));
            }

            int source = indices[r] * size;
            Span<float> destination = features.Slice(r * size, size);
            if (IsBytes && streaming)
            {
                Elementwise.BytesToSinglesStreaming(bytes.Slice(source, size), destination, _divisor);
            }
            else if (IsBytes)
            {
                Elementwise.BytesToSingles(bytes.Slice(source, size), destination, _divisor);
            }
            else
            {
                floats.Slice(source, size).CopyTo(destination);
            }
        }
    }

    /// <summary>
    /// Starts loading the pages that the features of samples <paramref name="indices"/> sit in
    /// (<see cref="Elementwise.PrefetchPages"/>), for a gather of them to come: a hint every 4 KiB of each row and one at
    /// its last byte, so every page it touches, whatever its length.
    /// </summary>
    public void PrefetchPages(ReadOnlySpan<int> indices)
    {
        foreach (int i in indices)
        {
            Elementwise.PrefetchPages(RowBytes(i));
        }
    }

    // The stored bytes of sample i's features, for a prefetch.
    private ReadOnlySpan<byte> RowBytes(int i) => IsBytes
        ? _bytes.Span.Slice(i * FeatureSize, FeatureSize)
        : MemoryMarshal.AsBytes(_floats.Span.Slice(i * FeatureSize, FeatureSize));

    // The labels (or target rows) and weights of Gather.
    private void GatherTargets(ReadOnlySpan<int> indices, Span<int> labels, Span<float> targets, Span<float> weights)
    {
        if (HasLabels)
        {
            ReadOnlySpan<int> all = Labels.Span;
            for (int r = 0; r < indices.Length; r++)
            {
                labels[r] = all[indices[r]];
            }
        }
        else
        {
            ReadOnlySpan<float> all = Targets.Span;
            int width = TargetSize;
            for (int r = 0; r < indices.Length; r++)
            {
                all.Slice(indices[r] * width, width).CopyTo(targets.Slice(r * width, width));
            }
        }

        if (!Weights.IsEmpty && !weights.IsEmpty)
        {
            ReadOnlySpan<float> all = Weights.Span;
            for (int r = 0; r < indices.Length; r++)
            {
                weights[r] = all[indices[r]];
            }
        }
    }
}
