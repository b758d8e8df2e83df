using System.Globalization;
using NeuralCore.Kernels;

namespace NeuralCore.Data;

/// <summary>
/// Samples and their targets: <see cref="Features"/> is <c>[Count, FeatureSize]</c> row-major, and the targets are
/// either class <see cref="Labels"/> (<c>[Count]</c>) or real-valued <see cref="Targets"/> (<c>[Count, TargetSize]</c>:
/// regression values, 0/1 values, one-hot or probability rows), with optional per-sample <see cref="SampleWeights"/>.
/// The arrays are held, not copied. The features may be stored as bytes (<see cref="FromBytes"/>, as
/// <c>Mnist</c> (NeuralCore.Datasets) loads them): training and evaluation then read the bytes and divide as they go, with a quarter
/// of the memory and of the memory traffic.
/// </summary>
public sealed class Dataset
{
    private readonly byte[]? _bytes;
    private readonly float _divisor;
    private readonly object _gate = new();
    private readonly int[]? _labels;
    private readonly float[]? _targets;
    private float[]? _features;

    /// <summary>Wraps <paramref name="features"/> and <paramref name="labels"/> (no copy).</summary>
    /// <param name="features">The <c>[count, featureSize]</c> samples, row-major.</param>
    /// <param name="labels">The <c>[count]</c> class labels; each non-negative.</param>
    /// <param name="featureSize">Features per sample; positive.</param>
    /// <exception cref="ArgumentNullException">An array is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="featureSize"/> is not positive.</exception>
    /// <exception cref="ArgumentException">
    /// <c>features.Length != labels.Length × featureSize</c>, a feature is NaN or infinite, or a label is negative.
    /// </exception>
    public Dataset(float[] features, int[] labels, int featureSize)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        CheckShape(features.Length, labels, featureSize, nameof(features));
        Check.Finite(features, featureSize, nameof(features));
        _features = features;
        _labels = labels;
        FeatureSize = featureSize;
        TargetSize = 1;
        Count = labels.Length;
    }

    /// <summary>Wraps <paramref name="features"/> and real-valued <paramref name="targets"/> (no copy).</summary>
    /// <param name="features">The <c>[count, featureSize]</c> samples, row-major.</param>
    /// <param name="targets">The <c>[count, targetSize]</c> targets, row-major; each finite.</param>
    /// <param name="featureSize">Features per sample; positive.</param>
    /// <param name="targetSize">Values per target row (the model's outputs); positive.</param>
    /// <exception cref="ArgumentNullException">An array is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException">The arrays do not hold the same number of samples, or a feature or target is not finite.</exception>
    public Dataset(float[] features, float[] targets, int featureSize, int targetSize)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        Count = CheckValueShape(features.Length, targets, featureSize, targetSize);
        Check.Finite(features, featureSize, nameof(features));
        _features = features;
        _targets = targets;
        FeatureSize = featureSize;
        TargetSize = targetSize;
    }

    private Dataset(byte[]? bytes, float divisor, float[]? features, int[]? labels, float[]? targets, int featureSize, int targetSize, float[]? weights)
    {
        _bytes = bytes;
        _divisor = divisor;
        _features = features;
        _labels = labels;
        _targets = targets;
        FeatureSize = featureSize;
        TargetSize = targetSize;
        SampleWeights = weights;
        Count = labels?.Length ?? (targets!.Length / targetSize);
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
        Check.Positive(divisor, nameof(divisor));

        CheckShape(values.Length, labels, featureSize, nameof(values));
        return new Dataset(values, divisor, null, labels, null, featureSize, 1, null);
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
        ? new SampleSource(_bytes, _divisor, _labels, FeatureSize, SampleWeights)
        : _labels is not null
            ? new SampleSource(_features!, _labels, FeatureSize, SampleWeights)
            : new SampleSource(_features!, _targets!, TargetSize, FeatureSize, SampleWeights);

    /// <summary>Whether the targets are class labels (<see cref="Labels"/>) rather than values (<see cref="Targets"/>).</summary>
    public bool HasLabels => _labels is not null;

    /// <summary>The <c>[Count]</c> class labels.</summary>
    /// <exception cref="InvalidOperationException">The dataset holds real-valued targets.</exception>
    public int[] Labels => _labels ?? throw new InvalidOperationException(
        $"This dataset holds real-valued targets [{Count}, {TargetSize}], not class labels: read Targets.");

    /// <summary>The <c>[Count, TargetSize]</c> real-valued targets, row-major.</summary>
    /// <exception cref="InvalidOperationException">The dataset holds class labels.</exception>
    public float[] Targets => _targets ?? throw new InvalidOperationException(
        "This dataset holds class labels, not real-valued targets: read Labels.");

    /// <summary>Values per target row; 1 for class labels.</summary>
    public int TargetSize { get; }

    /// <summary>The <c>[Count]</c> per-sample weights (Keras's <c>sample_weight</c>), or null when every sample weighs 1.</summary>
    public float[]? SampleWeights { get; }

    /// <summary>The number of samples.</summary>
    public int Count { get; }

    /// <summary>Features per sample.</summary>
    public int FeatureSize { get; }

    /// <summary>
    /// The same samples and targets with per-sample weights (no copy): each sample's loss is multiplied by its weight,
    /// Keras's <c>sample_weight</c>.
    /// </summary>
    /// <param name="weights">The <c>[Count]</c> weights, each non-negative and finite; null removes them.</param>
    /// <returns>A dataset sharing this one's arrays.</returns>
    /// <exception cref="ArgumentException">The weights do not number <see cref="Count"/>, or one is negative or not finite.</exception>
    public Dataset WithSampleWeights(float[]? weights)
    {
        if (weights is not null)
        {
            if (weights.Length != Count)
            {
                throw new ArgumentException(
                    $"Expected one weight per sample: {Count}. Received: weights.Length={weights.Length}.", nameof(weights));
            }

            Check.Weights(weights, nameof(weights), "Sample weight");
        }

        return new Dataset(_bytes, _divisor, _features, _labels, _targets, FeatureSize, TargetSize, weights);
    }

    private static int CheckValueShape(int features, float[] targets, int featureSize, int targetSize)
    {
        Check.Positive(featureSize, nameof(featureSize), "feature size");

        Check.Positive(targetSize, nameof(targetSize), "target size");

        if (targets.Length % targetSize != 0)
        {
            throw new ArgumentException(
                $"targets holds {targets.Length} values, which is not a whole number of rows of {targetSize} (shape [?, {targetSize}]).", nameof(targets));
        }

        int count = targets.Length / targetSize;
        if ((long)count * featureSize != features)
        {
            throw new ArgumentException(
                $"features has {features} values, but targets has shape [{count}, {targetSize}] and [{count}, {featureSize}] features need {(long)count * featureSize}: they must hold as many samples.", nameof(features));
        }

        int bad = Array.FindIndex(targets, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"Expected finite targets. Received: targets[{bad / targetSize}, {bad % targetSize}]={targets[bad]}.", nameof(targets));
        }

        return count;
    }

    private static void CheckShape(int length, int[] labels, int featureSize, string name)
    {
        Check.Positive(featureSize, nameof(featureSize), "feature size");

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
        Check.NonNegative(count, nameof(count), "count of samples");
        Check.InRange(validationFraction, 0f, 1f, "()", nameof(validationFraction), "a validation fraction");
        return CheckedSplitIndex(count, validationFraction, nameof(validationFraction), nameof(validationFraction));
    }

    // The check of SplitIndex under the caller's names: Fit's refusal named this method's parameter, which its caller
    // never sees, instead of FitOptions.ValidationSplit.
    internal static int CheckedSplitIndex(int count, double validationFraction, string name, string paramName)
    {
        int splitAt = (int)Math.Floor(count * (1.0 - validationFraction));
        if (splitAt == 0 || splitAt == count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{count} samples are too few to split into training and validation sets with {name}={validationFraction}: the training part would hold {splitAt} and the validation part {count - splitAt}."),
                paramName);
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

    /// <summary>
    /// Splits into training and test sets after a seeded shuffle (scikit-learn's <c>train_test_split</c>): the test
    /// set is <c>ceil(Count × testFraction)</c> samples drawn at random, the training set the rest, each in shuffled
    /// order. Copies the data.
    /// </summary>
    /// <param name="testFraction">The fraction held out, in (0, 1).</param>
    /// <param name="seed">The shuffle's seed.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="testFraction"/> is not in (0, 1).</exception>
    /// <exception cref="ArgumentException">Either part would be empty.</exception>
    public (Dataset Training, Dataset Test) SplitShuffled(double testFraction, ulong seed)
    {
        (int[] order, int test) = ShuffledSplit(Count, testFraction, seed, "samples");
        return (Select(order.AsSpan(test)), Select(order.AsSpan(0, test)));
    }

    // SplitShuffled's rule, shared with the text tables of NeuralCore.Datasets: a seeded permutation of the items,
    // whose first ceil(count × testFraction) are the test part.
    internal static (int[] Order, int Test) ShuffledSplit(int count, double testFraction, ulong seed, string items)
    {
        Check.InRange(testFraction, 0f, 1f, "()", nameof(testFraction), "a test fraction");
        int test = (int)Math.Ceiling(count * testFraction);
        if (test == count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{count} {items} are too few to split with testFraction={testFraction}: the training part would be empty."), nameof(testFraction));
        }

        return (Permutation.Create(count, seed), test);
    }

    /// <summary>
    /// A copy of the samples at <paramref name="indices"/>, in that order (an index may repeat), with their targets and
    /// weights. A dataset of bytes gives one of bytes (<see cref="StoresBytes"/>: its <see cref="Features"/> are then
    /// computed from them, so writing into that array changes nothing that trains), anything else one of floats.
    /// </summary>
    /// <param name="indices">The samples to take, each in <c>[0, Count)</c>.</param>
    /// <returns>A new dataset of <c>indices.Length</c> samples.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside <c>[0, Count)</c>, named with its position.</exception>
    /// <exception cref="ArgumentException">The selection's features or targets would not fit in one array (indices repeated beyond that).</exception>
    public Dataset Subset(ReadOnlySpan<int> indices)
    {
        int bad = indices.IndexOfAnyExceptInRange(0, Count - 1);
        if (bad >= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(indices), $"indices[{bad}] = {indices[bad]} is outside [0, {Count}).");
        }

        return Select(indices);
    }

    // A copy of the samples at the given indices, in that order.
    private Dataset Select(ReadOnlySpan<int> indices)
    {
        int n = indices.Length;
        if ((long)n * Math.Max(FeatureSize, _targets is null ? 0 : TargetSize) > Array.MaxLength)
        {
            // Indices may repeat, so a selection can outgrow the data.
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{n:N0} samples of {FeatureSize} features{(_targets is null ? "" : $" and {TargetSize} targets")} are more values than one array holds ({Array.MaxLength:N0})."), nameof(indices));
        }

        if (_bytes is not null)
        {
            // Bytes stay bytes: a k-fold split of MNIST copied every fold's pixels as floats, four times the memory.
            byte[] bytes = GC.AllocateUninitializedArray<byte>(n * FeatureSize);
            int[] selected = new int[n];
            float[]? sampleWeights = SampleWeights is null ? null : new float[n];
            for (int r = 0; r < n; r++)
            {
                int i = indices[r];
                _bytes.AsSpan(i * FeatureSize, FeatureSize).CopyTo(bytes.AsSpan(r * FeatureSize, FeatureSize));
                selected[r] = _labels![i];
                if (sampleWeights is not null)
                {
                    sampleWeights[r] = SampleWeights![i];
                }
            }

            return new Dataset(bytes, _divisor, null, selected, null, FeatureSize, TargetSize, sampleWeights);
        }

        float[] features = new float[n * FeatureSize];
        int[]? labels = _labels is null ? null : new int[n];
        float[]? targets = _targets is null ? null : new float[n * TargetSize];
        float[]? weights = SampleWeights is null ? null : new float[n];
        SampleSource source = Source;
        source.Gather(indices, features, labels, targets, weights);
        return new Dataset(null, 0, features, labels, targets, FeatureSize, TargetSize, weights);
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

        int[]? labels = _labels?.AsSpan(start, count).ToArray();
        float[]? targets = _targets?.AsSpan(start * TargetSize, count * TargetSize).ToArray();
        float[]? weights = SampleWeights?.AsSpan(start, count).ToArray();
        return _bytes is not null
            ? new Dataset(_bytes.AsSpan(start * FeatureSize, count * FeatureSize).ToArray(), _divisor, null, labels, null, FeatureSize, TargetSize, weights)
            : new Dataset(null, 0, _features!.AsSpan(start * FeatureSize, count * FeatureSize).ToArray(), labels, targets, FeatureSize, TargetSize, weights);
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

        _ = Labels;
        Source.Gather(CheckedBatch(indices, start, count), destFeatures, destLabels, default, default);
    }

    /// <summary>
    /// As <see cref="Gather(ReadOnlySpan{int}, int, int, Span{float}, Span{int})"/> for real-valued targets:
    /// <c>destTargets[r, :] = Targets[indices[start + r], :]</c>.
    /// </summary>
    /// <param name="indices">Sample indices; each in <c>[0, Count)</c>.</param>
    /// <param name="start">The first position in <paramref name="indices"/>.</param>
    /// <param name="count">The batch size.</param>
    /// <param name="destFeatures">The <c>[count, FeatureSize]</c> destination; overwritten.</param>
    /// <param name="destTargets">The <c>[count, TargetSize]</c> destination; overwritten.</param>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside <paramref name="indices"/>, or an index is outside <c>[0, Count)</c>.</exception>
    /// <exception cref="ArgumentException">A destination is too short.</exception>
    /// <exception cref="InvalidOperationException">The dataset holds class labels.</exception>
    public void Gather(ReadOnlySpan<int> indices, int start, int count, Span<float> destFeatures, Span<float> destTargets)
    {
        if ((uint)start > (uint)indices.Length || (uint)count > (uint)(indices.Length - start))
        {
            throw new ArgumentOutOfRangeException(nameof(count),
                $"Expected a range inside indices[0, {indices.Length}). Received: start={start}, count={count}.");
        }

        _ = Targets;
        if ((long)count * FeatureSize > destFeatures.Length)
        {
            throw new ArgumentException(
                $"destFeatures is too short: {count} samples × {FeatureSize} features need {(long)count * FeatureSize} elements. Received: destFeatures.Length={destFeatures.Length}.",
                nameof(destFeatures));
        }

        if ((long)count * TargetSize > destTargets.Length)
        {
            throw new ArgumentException(
                $"destTargets is too short: {count} samples × {TargetSize} targets need {(long)count * TargetSize} elements. Received: destTargets.Length={destTargets.Length}.",
                nameof(destTargets));
        }

        Source.Gather(CheckedBatch(indices, start, count), destFeatures, default, destTargets, default);
    }

    private ReadOnlySpan<int> CheckedBatch(ReadOnlySpan<int> indices, int start, int count)
    {
        ReadOnlySpan<int> batch = indices.Slice(start, count);
        int bad = batch.IndexOfAnyExceptInRange(0, Count - 1);
        if (bad >= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(indices), batch[bad],
                $"Expected indices in [0, {Count}). Received: indices[{start + bad}]={batch[bad]}.");
        }

        return batch;
    }
}
