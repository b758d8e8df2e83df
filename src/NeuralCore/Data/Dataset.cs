using NeuralCore.Kernels;

namespace NeuralCore.Data;

/// <summary>
/// Labelled samples for classification: <see cref="Features"/> is <c>[Count, FeatureSize]</c> row-major and
/// <see cref="Labels"/> is <c>[Count]</c>. The arrays are held, not copied. The features may be stored as bytes
/// (<see cref="FromBytes"/>, as <see cref="Mnist"/> loads them): training and evaluation then read the bytes and
/// divide as they go, with a quarter of the memory and of the memory traffic.
/// </summary>
public sealed class Dataset
{
    private readonly byte[]? _bytes;
    private readonly float _divisor;
    private readonly object _gate = new();
    private float[]? _features;
    /// <summary>Wraps <paramref name="features"/> and <paramref name="labels"/> (no copy).</summary>
    /// <param name="features">The <c>[count, featureSize]</c> samples, row-major.</param>
    /// <param name="labels">The <c>[count]</c> class labels; each non-negative.</param>
    /// <param name="featureSize">Features per sample; positive.</param>
    /// <exception cref="ArgumentNullException">An array is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="featureSize"/> is not positive.</exception>
    /// <exception cref="ArgumentException">
    /// <c>features.Length != labels.Length × featureSize</c>, or a label is negative.
    /// </exception>
    public Dataset(float[] features, int[] labels, int featureSize)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        CheckShape(features.Length, labels, featureSize, nameof(features));
        _features = features;
        Labels = labels;
        FeatureSize = featureSize;
    }

    private Dataset(byte[] values, float divisor, int[] labels, int featureSize)
    {
        _bytes = values;
        _divisor = divisor;
        Labels = labels;
        FeatureSize = featureSize;
    }

    /// <summary>
    /// Wraps features stored as bytes (no copy): feature <c>i</c> is <c>values[i] / divisor</c>, computed in single
    /// precision whenever it is read (pixels in 0..255 with divisor 255 give [0, 1]).
    /// </summary>
    /// <param name="values">The <c>[count, featureSize]</c> samples as bytes, row-major.</param>
    /// <param name="labels">The <c>[count]</c> class labels; each non-negative.</param>
    /// <param name="featureSize">Features per sample; positive.</param>
    /// <param name="divisor">The divisor; positive and finite.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentNullException">An array is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="featureSize"/> or <paramref name="divisor"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><c>values.Length != labels.Length × featureSize</c>, or a label is negative.</exception>
    public static Dataset FromBytes(byte[] values, int[] labels, int featureSize, float divisor)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(labels);
        if (!(divisor > 0 && float.IsFinite(divisor)))
        {
            throw new ArgumentOutOfRangeException(nameof(divisor), divisor,
                $"Expected a positive, finite divisor. Received: divisor={divisor}.");
        }

        CheckShape(values.Length, labels, featureSize, nameof(values));
        return new Dataset(values, divisor, labels, featureSize);
    }

    /// <summary>
    /// The <c>[Count, FeatureSize]</c> samples, row-major, as floats. For a dataset stored as bytes the first read
    /// converts them all into a new array (four times the bytes' size) and keeps it; the model API never needs it, and
    /// since training and evaluation read the bytes, changing this copy changes nothing they see (build a new dataset
    /// from the changed floats instead).
    /// </summary>
    public float[] Features
    {
        get
        {
            if (_features is { } features)
            {
                return features;
            }

            lock (_gate)
            {
                if (_features is null)
                {
                    float[] converted = GC.AllocateUninitializedArray<float>(_bytes!.Length);
                    Elementwise.BytesToSingles(_bytes, converted, _divisor);
                    _features = converted;
                }

                return _features;
            }
        }
    }

    /// <summary>Whether the features are stored as bytes (<see cref="FromBytes"/>).</summary>
    public bool StoresBytes => _bytes is not null;

    /// <summary>The samples as the training loop reads them, without copying.</summary>
    internal SampleSource Source => _bytes is not null
        ? new SampleSource(_bytes, _divisor, Labels, FeatureSize)
        : new SampleSource(_features!, Labels, FeatureSize);

    /// <summary>The <c>[Count]</c> class labels.</summary>
    public int[] Labels { get; }

    /// <summary>The number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>Features per sample.</summary>
    public int FeatureSize { get; }

    private static void CheckShape(int length, int[] labels, int featureSize, string name)
    {
        if (featureSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(featureSize), featureSize,
                $"Expected a positive feature size. Received: featureSize={featureSize}.");
        }

        if ((long)labels.Length * featureSize != length)
        {
            throw new ArgumentException(
                $"Expected {name}.Length = labels.Length × featureSize = {labels.Length} × {featureSize} = {(long)labels.Length * featureSize}. Received: {name}.Length={length}.",
                name);
        }

        int negative = labels.AsSpan().IndexOfAnyInRange(int.MinValue, -1);
        if (negative >= 0)
        {
            throw new ArgumentException(
                $"Expected non-negative labels. Received: labels[{negative}]={labels[negative]}.", nameof(labels));
        }
    }

    /// <summary>
    /// The index where <see cref="Split"/> cuts, Keras's <c>validation_split</c> rule:
    /// <c>floor(count × (1 − validationFraction))</c>, computed in double precision as Keras computes it in Python.
    /// </summary>
    /// <param name="count">The number of samples; non-negative.</param>
    /// <param name="validationFraction">The fraction held out for validation, in (0, 1).</param>
    /// <returns>The number of training samples; the validation samples are the rest.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="count"/> is negative, or <paramref name="validationFraction"/> is not in (0, 1).
    /// </exception>
    /// <exception cref="ArgumentException">Either part would be empty (Keras raises the same error).</exception>
    public static int SplitIndex(int count, double validationFraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!(validationFraction > 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction,
                $"Expected a validation fraction in (0, 1). Received: validationFraction={validationFraction}.");
        }

        int splitAt = (int)Math.Floor(count * (1.0 - validationFraction));
        if (splitAt == 0 || splitAt == count)
        {
            throw new ArgumentException(
                $"{count} samples are too few to split into training and validation sets with validationFraction={validationFraction}: the training part would hold {splitAt}.",
                nameof(validationFraction));
        }

        return splitAt;
    }

    /// <summary>
    /// Splits into training and validation sets the way Keras's <c>fit(validation_split=…)</c> does: the validation set
    /// is the <em>last</em> samples, taken before any shuffling; the first <see cref="SplitIndex"/> samples train.
    /// </summary>
    /// <remarks>
    /// Keras 3 (<c>keras/src/trainers/data_adapters/array_slicing.py</c>, <c>train_validation_split</c>) computes
    /// <c>split_at = int(math.floor(n * (1.0 - validation_split)))</c> and rejects a split where either part is empty;
    /// this method does the same. For MNIST's 60,000 training images and 0.1, that is 54,000 and 6,000. Copies the data.
    /// </remarks>
    /// <param name="validationFraction">The fraction held out for validation, in (0, 1).</param>
    /// <returns>The training set (the head) and the validation set (the tail).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validationFraction"/> is not in (0, 1).</exception>
    /// <exception cref="ArgumentException">Either part would be empty.</exception>
    public (Dataset Training, Dataset Validation) Split(double validationFraction)
    {
        int splitAt = SplitIndex(Count, validationFraction);
        return (Slice(0, splitAt), Slice(splitAt, Count - splitAt));
    }

    /// <summary>A copy of the samples <c>[start, start + count)</c>.</summary>
    /// <param name="start">The first sample.</param>
    /// <param name="count">The number of samples.</param>
    /// <returns>A new dataset holding copies of those samples.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside <c>[0, Count)</c>.</exception>
    public Dataset Slice(int start, int count)
    {
        if ((uint)start > (uint)Count || (uint)count > (uint)(Count - start))
        {
            throw new ArgumentOutOfRangeException(nameof(count),
                $"Expected a range inside [0, {Count}). Received: start={start}, count={count}.");
        }

        int[] labels = Labels.AsSpan(start, count).ToArray();
        return _bytes is not null
            ? new Dataset(_bytes.AsSpan(start * FeatureSize, count * FeatureSize).ToArray(), _divisor, labels, FeatureSize)
            : new Dataset(_features!.AsSpan(start * FeatureSize, count * FeatureSize).ToArray(), labels, FeatureSize);
    }

    /// <summary>
    /// Copies the minibatch <c>indices[start .. start + count)</c> without allocating:
    /// <c>destFeatures[r, :] = Features[indices[start + r], :]</c> and <c>destLabels[r] = Labels[indices[start + r]]</c>.
    /// </summary>
    /// <param name="indices">Sample indices, e.g. a permutation from <see cref="Permutation"/>; each in <c>[0, Count)</c>.</param>
    /// <param name="start">The first position in <paramref name="indices"/>.</param>
    /// <param name="count">The batch size (the last batch of an epoch may be smaller).</param>
    /// <param name="destFeatures">The <c>[count, FeatureSize]</c> destination; overwritten.</param>
    /// <param name="destLabels">The <c>[count]</c> destination; overwritten.</param>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside <paramref name="indices"/>, or an index is outside <c>[0, Count)</c>.</exception>
    /// <exception cref="ArgumentException">A destination is too short.</exception>
    public void Gather(ReadOnlySpan<int> indices, int start, int count, Span<float> destFeatures, Span<int> destLabels)
    {
        if ((uint)start > (uint)indices.Length || (uint)count > (uint)(indices.Length - start))
        {
            throw new ArgumentOutOfRangeException(nameof(count),
                $"Expected a range inside indices[0, {indices.Length}). Received: start={start}, count={count}.");
        }

        if ((long)count * FeatureSize > destFeatures.Length)
        {
            throw new ArgumentException(
                $"destFeatures is too short: {count} samples × {FeatureSize} features need {(long)count * FeatureSize} elements. Received: destFeatures.Length={destFeatures.Length}.",
                nameof(destFeatures));
        }

        if (count > destLabels.Length)
        {
            throw new ArgumentException(
                $"destLabels is too short for {count} samples. Received: destLabels.Length={destLabels.Length}.", nameof(destLabels));
        }

        ReadOnlySpan<int> batch = indices.Slice(start, count);
        int bad = batch.IndexOfAnyExceptInRange(0, Count - 1);
        if (bad >= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(indices), batch[bad],
                $"Expected indices in [0, {Count}). Received: indices[{start + bad}]={batch[bad]}.");
        }

        Source.Gather(batch, destFeatures, destLabels);
    }
}
