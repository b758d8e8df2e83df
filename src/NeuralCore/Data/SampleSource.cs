using System.Runtime.CompilerServices;
using NeuralCore.Kernels;

namespace NeuralCore.Data;

/// <summary>
/// Labelled samples as the training loop reads them, without copying them first: features stored as floats, or as
/// bytes that each read divides by a constant (MNIST's pixels / 255, a quarter of the memory and of the traffic).
/// </summary>
/// <remarks>Callers check indices and lengths; this type only moves data.</remarks>
internal readonly struct SampleSource
{
    private readonly ReadOnlyMemory<float> _floats;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly float _divisor;

    public SampleSource(ReadOnlyMemory<float> features, ReadOnlyMemory<int> labels, int featureSize)
    {
        _floats = features;
        Labels = labels;
        FeatureSize = featureSize;
    }

    public SampleSource(ReadOnlyMemory<byte> features, float divisor, ReadOnlyMemory<int> labels, int featureSize)
    {
        _bytes = features;
        _divisor = divisor;
        Labels = labels;
        FeatureSize = featureSize;
        IsBytes = true;
    }

    public ReadOnlyMemory<int> Labels { get; }

    public int FeatureSize { get; }

    public int Count => Labels.Length;

    /// <summary>Whether the features are stored as bytes.</summary>
    public bool IsBytes { get; }

    /// <summary>Samples <c>[start, start + count)</c>, without copying.</summary>
    public SampleSource Slice(int start, int count)
    {
        ReadOnlyMemory<int> labels = Labels.Slice(start, count);
        return IsBytes
            ? new SampleSource(_bytes.Slice(start * FeatureSize, count * FeatureSize), _divisor, labels, FeatureSize)
            : new SampleSource(_floats.Slice(start * FeatureSize, count * FeatureSize), labels, FeatureSize);
    }

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

    /// <summary>Writes sample <c>indices[r]</c>'s features to row r of <paramref name="features"/> and its label to <paramref name="labels"/>[r].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Gather(ReadOnlySpan<int> indices, Span<float> features, Span<int> labels)
    {
        int size = FeatureSize;
        ReadOnlySpan<int> all = Labels.Span;
        if (IsBytes)
        {
            ReadOnlySpan<byte> bytes = _bytes.Span;
            for (int r = 0; r < indices.Length; r++)
            {
                int index = indices[r];
                Elementwise.BytesToSingles(bytes.Slice(index * size, size), features.Slice(r * size, size), _divisor);
                labels[r] = all[index];
            }
        }
        else
        {
            ReadOnlySpan<float> floats = _floats.Span;
            for (int r = 0; r < indices.Length; r++)
            {
                int index = indices[r];
                floats.Slice(index * size, size).CopyTo(features.Slice(r * size, size));
                labels[r] = all[index];
            }
        }
    }
}
