using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class DatasetTests
{
    /// <summary>A dataset whose sample i has features i*100 + j and label i % 7.</summary>
    private static Dataset Numbered(int count, int featureSize)
    {
        var features = new float[count * featureSize];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = ((i / featureSize) * 100) + (i % featureSize);
        }

        return new Dataset(features, [.. Enumerable.Range(0, count).Select(i => i % 7)], featureSize);
    }

    [Fact]
    public void Holds_the_arrays_it_was_given()
    {
        float[] features = [1, 2, 3, 4, 5, 6];
        int[] labels = [0, 1];
        var data = new Dataset(features, labels, 3);
        Assert.Same(features, data.Features);
        Assert.Same(labels, data.Labels);
        Assert.Equal(2, data.Count);
        Assert.Equal(3, data.FeatureSize);
    }

    [Fact]
    public void Constructor_validates_with_the_values()
    {
        var size = Assert.Throws<ArgumentOutOfRangeException>(() => new Dataset([], [], 0));
        Assert.Contains("featureSize=0", size.Message, StringComparison.Ordinal);

        var shape = Assert.Throws<ArgumentException>(() => new Dataset(new float[7], new int[2], 3));
        Assert.Contains("2 × 3 = 6", shape.Message, StringComparison.Ordinal);
        Assert.Contains("features.Length=7", shape.Message, StringComparison.Ordinal);

        var label = Assert.Throws<ArgumentException>(() => new Dataset(new float[3], [0, -4, 1], 1));
        Assert.Contains("labels[1]=-4", label.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentNullException>(() => new Dataset(null!, [], 1));
        Assert.Throws<ArgumentNullException>(() => new Dataset([], null!, 1));
    }

    // Expected values from Python, as Keras computes them: int(math.floor(n * (1.0 - validation_split))).
    // (25, 0.56) and (20, 0.8) show double rounding: exact arithmetic would give 11 and 4.
    [Theory]
    [InlineData(60000, 0.1, 54000)]
    [InlineData(60000, 0.2, 48000)]
    [InlineData(10, 0.3, 7)]
    [InlineData(10, 0.7, 3)]
    [InlineData(100, 0.29, 71)]
    [InlineData(7, 0.5, 3)]
    [InlineData(3, 0.34, 1)]
    [InlineData(1000, 0.001, 999)]
    [InlineData(49, 0.1, 44)]
    [InlineData(25, 0.56, 10)]
    [InlineData(20, 0.8, 3)]
    public void SplitIndex_matches_keras(int count, double fraction, int expected)
    {
        Assert.Equal(expected, Dataset.SplitIndex(count, fraction));
    }

    [Fact]
    public void Split_takes_the_tail_as_validation_before_any_shuffling()
    {
        Dataset data = Numbered(49, 3);
        (Dataset training, Dataset validation) = data.Split(0.1);

        Assert.Equal(44, training.Count);
        Assert.Equal(5, validation.Count);
        Assert.Equal(3, training.FeatureSize);
        Assert.Equal(3, validation.FeatureSize);
        Assert.Equal(data.Features.AsSpan(0, 44 * 3).ToArray(), training.Features);
        Assert.Equal(data.Labels.AsSpan(0, 44).ToArray(), training.Labels);
        Assert.Equal(data.Features.AsSpan(44 * 3).ToArray(), validation.Features);
        Assert.Equal(data.Labels.AsSpan(44).ToArray(), validation.Labels);
        Assert.Equal(4400f, validation.Features[0]); // sample 44 comes first

        // The parts are copies.
        validation.Features[0] = -1;
        Assert.Equal(4400f, data.Features[44 * 3]);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Split_rejects_fractions_outside_zero_one(double fraction)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(10, 1).Split(fraction));
        Assert.Contains("validationFraction=", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(10, 0.95)]
    [InlineData(10, 1e-17)] // 1.0 - 1e-17 rounds to 1.0: no validation samples
    [InlineData(0, 0.5)]
    public void Split_rejects_an_empty_part_as_keras_does(int count, double fraction)
    {
        var e = Assert.Throws<ArgumentException>(() => Numbered(count, 2).Split(fraction));
        Assert.Contains("too few to split", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slice_copies_a_range_and_checks_it()
    {
        Dataset slice = Numbered(10, 2).Slice(3, 4);
        Assert.Equal([300f, 301, 400, 401, 500, 501, 600, 601], slice.Features);
        Assert.Equal([3, 4, 5, 6], slice.Labels);
        Assert.Equal(0, Numbered(10, 2).Slice(10, 0).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(10, 2).Slice(8, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(10, 2).Slice(-1, 1));
    }

    [Fact]
    public void Gather_copies_the_indexed_samples()
    {
        Dataset data = Numbered(20, 5);
        int[] order = Permutation.Create(20, 3);
        var features = new float[8 * 5];
        var labels = new int[8];

        foreach ((int start, int count) in new[] { (0, 8), (8, 8), (16, 4), (20, 0) })
        {
            Array.Fill(features, float.NaN);
            Array.Fill(labels, -1);
            data.Gather(order, start, count, features, labels);
            for (int r = 0; r < count; r++)
            {
                int sample = order[start + r];
                Assert.Equal(data.Features.AsSpan(sample * 5, 5).ToArray(), features.AsSpan(r * 5, 5).ToArray());
                Assert.Equal(data.Labels[sample], labels[r]);
            }

            Assert.All(features.AsSpan(count * 5).ToArray(), v => Assert.True(float.IsNaN(v))); // beyond the batch: untouched
        }
    }

    [Fact]
    public void Gather_allocates_nothing()
    {
        Dataset data = Numbered(1000, 784);
        int[] order = Permutation.Create(1000, 1);
        var features = new float[128 * 784];
        var labels = new int[128];
        data.Gather(order, 0, 128, features, labels);

        long before = AllocationBaseline.Read();
        for (int start = 0; start < 1000; start += 128)
        {
            data.Gather(order, start, Math.Min(128, 1000 - start), features, labels);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Gather_validates_with_the_values()
    {
        Dataset data = Numbered(4, 2);
        var features = new float[4];
        var labels = new int[2];

        var range = Assert.Throws<ArgumentOutOfRangeException>(() => data.Gather([0, 1, 2], 2, 2, features, labels));
        Assert.Contains("start=2, count=2", range.Message, StringComparison.Ordinal);

        var index = Assert.Throws<ArgumentOutOfRangeException>(() => data.Gather([0, 4], 0, 2, features, labels));
        Assert.Contains("indices[1]=4", index.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Gather([-1], 0, 1, features, labels));

        var shortFeatures = Assert.Throws<ArgumentException>(() => data.Gather([0, 1], 0, 2, new float[3], labels));
        Assert.Contains("destFeatures.Length=3", shortFeatures.Message, StringComparison.Ordinal);
        var shortLabels = Assert.Throws<ArgumentException>(() => data.Gather([0, 1], 0, 2, features, new int[1]));
        Assert.Contains("destLabels.Length=1", shortLabels.Message, StringComparison.Ordinal);
    }

    private static (byte[] Bytes, int[] Labels) ByteSamples(int count, int size)
    {
        byte[] bytes = [.. Enumerable.Range(0, count * size).Select(i => (byte)((i * 37) % 256))];
        int[] labels = [.. Enumerable.Range(0, count).Select(i => i % 3)];
        return (bytes, labels);
    }

    [Fact]
    public void Byte_storage_reads_as_the_divided_floats_everywhere()
    {
        (byte[] bytes, int[] labels) = ByteSamples(9, 5);
        Dataset data = Dataset.FromBytes(bytes, labels, 5, 255f);
        Assert.True(data.StoresBytes);
        Assert.Equal(9, data.Count);

        float[] expected = [.. bytes.Select(b => b / 255f)];
        Assert.Equal(expected, data.Features);
        Assert.Same(data.Features, data.Features);

        int[] order = [8, 0, 4, 4];
        float[] gathered = new float[4 * 5];
        int[] gatheredLabels = new int[4];
        data.Gather(order, 0, 4, gathered, gatheredLabels);
        for (int r = 0; r < 4; r++)
        {
            Assert.Equal(expected.AsSpan(order[r] * 5, 5).ToArray(), gathered.AsSpan(r * 5, 5).ToArray());
            Assert.Equal(labels[order[r]], gatheredLabels[r]);
        }

        Dataset tail = data.Slice(6, 3);
        Assert.True(tail.StoresBytes);
        Assert.Equal(expected.AsSpan(30).ToArray(), tail.Features);
    }

    [Fact]
    public void FromBytes_validates_with_the_values()
    {
        var shape = Assert.Throws<ArgumentException>(() => Dataset.FromBytes(new byte[7], [0, 1], 4, 255f));
        Assert.Contains("values.Length=7", shape.Message, StringComparison.Ordinal);
        var divisor = Assert.Throws<ArgumentOutOfRangeException>(() => Dataset.FromBytes(new byte[8], [0, 1], 4, 0f));
        Assert.Equal("divisor", divisor.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Dataset.FromBytes(new byte[8], [0, 1], 4, float.NaN));
        var negative = Assert.Throws<ArgumentException>(() => Dataset.FromBytes(new byte[8], [0, -2], 4, 255f));
        Assert.Contains("labels[1]=-2", negative.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => Dataset.FromBytes(null!, [0], 1, 1f));
    }

    [Fact]
    public void Gathering_from_bytes_allocates_nothing()
    {
        (byte[] bytes, int[] labels) = ByteSamples(1000, 784);
        Dataset data = Dataset.FromBytes(bytes, labels, 784, 255f);
        int[] order = [.. Enumerable.Range(0, 1000).Reverse()];
        var features = new float[128 * 784];
        var batchLabels = new int[128];

        // Every batch once first, the short last one too: measured after one full batch only, the first pass over the
        // rest allocated 7,624 bytes once in CI's scalar run (its first calls of the other paths), though never since.
        for (int start = 0; start < 1000; start += 128)
        {
            data.Gather(order, start, Math.Min(128, 1000 - start), features, batchLabels);
        }

        long before = AllocationBaseline.Read();
        for (int start = 0; start < 1000; start += 128)
        {
            data.Gather(order, start, Math.Min(128, 1000 - start), features, batchLabels);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
