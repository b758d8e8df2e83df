using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;

namespace NeuralCore.Tests.Data;

public class DatasetSplitsTests
{
    /// <summary>300 samples sorted by class: 150 of class 0, 100 of class 1, 50 of class 2; feature = the sample's index.</summary>
    private static Dataset Sorted()
    {
        int[] labels = [.. Enumerable.Repeat(0, 150), .. Enumerable.Repeat(1, 100), .. Enumerable.Repeat(2, 50)];
        float[] features = [.. Enumerable.Range(0, 300).Select(i => (float)i)];
        return new Dataset(features, labels, 1);
    }

    [Fact]
    public void Stratified_splits_keep_every_class_in_proportion()
    {
        var (train, validation) = DatasetSplits.TrainValidation(Sorted(), 0.2, stratify: true, seed: 3);
        Assert.Equal(240, train.Count);
        Assert.Equal(60, validation.Count);
        Assert.Equal(30, validation.Labels.Count(l => l == 0));
        Assert.Equal(20, validation.Labels.Count(l => l == 1));
        Assert.Equal(10, validation.Labels.Count(l => l == 2));

        // Every sample lands in exactly one part, with its own label, in the data's order without shuffling.
        float[] all = [.. train.Features, .. validation.Features];
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (float)i), all.Order());
        Assert.True(train.Features.SequenceEqual(train.Features.Order()));
        for (int i = 0; i < validation.Count; i++)
        {
            int index = (int)validation.Features[i];
            Assert.Equal(index < 150 ? 0 : index < 250 ? 1 : 2, validation.Labels[i]);
        }
    }

    [Theory]
    [InlineData(new[] { 50, 50, 50 }, 0.25, new[] { 12, 13, 13 })] // iris: scikit-learn's 38 (a tie, its 12 drawn at random)
    [InlineData(new[] { 212, 357 }, 0.2, new[] { 42, 72 })] // breast cancer: scikit-learn's 114
    [InlineData(new[] { 59, 71, 48 }, 0.3, new[] { 18, 21, 15 })] // wine: scikit-learn's 54
    [InlineData(new[] { 47, 27, 22, 54 }, 0.2, new[] { 9, 6, 4, 11 })] // draws·count/total rounded to a tie: 9, 5, 5, 11
    [InlineData(new[] { 15, 63, 80, 2, 62 }, 0.3333333333333333, new[] { 5, 21, 27, 0, 21 })]
    [InlineData(new[] { 16, 50, 38, 57, 8, 31 }, 0.5, new[] { 8, 25, 19, 29, 4, 15 })]
    public void Stratified_sizes_are_scikit_learns(int[] counts, double fraction, int[] expected)
    {
        // Each class's share rounded on its own gave 39 and 113 validation samples.
        int[] labels = [.. counts.SelectMany((n, c) => Enumerable.Repeat(c, n))];
        var (train, validation) = DatasetSplits.TrainValidation(new Dataset(new float[labels.Length], labels, 1), fraction, stratify: true, seed: 2);
        Assert.Equal(expected, Enumerable.Range(0, counts.Length).Select(c => validation.Labels.Count(l => l == c)));
        Assert.Equal(labels.Length - expected.Sum(), train.Count);
    }

    [Fact]
    public void Pixels_stored_as_bytes_stay_bytes_in_every_split()
    {
        // Subset copied a byte dataset's samples as floats: a k-fold split of MNIST took four times the memory.
        byte[] pixels = [.. Enumerable.Range(0, 40 * 3).Select(i => (byte)(i * 7))];
        int[] labels = [.. Enumerable.Range(0, 40).Select(i => i % 4)];
        Dataset data = Dataset.FromBytes(pixels, labels, 3, 255f);
        var (train, validation) = DatasetSplits.TrainValidation(data, 0.25, shuffle: true, stratify: true, seed: 3);
        var (head, tail) = data.SplitShuffled(0.3, seed: 4);
        Dataset[] parts = [train, validation, head, tail, data.Subset([5, 5, 0]), .. DatasetSplits.KFold(data, 4, shuffle: true, seed: 1).SelectMany(f => new[] { f.Training, f.Validation })];
        foreach (Dataset part in parts)
        {
            Assert.True(part.StoresBytes);
        }

        // The same values as the data's own: each sample found by its first feature, which is unique here.
        for (int i = 0; i < validation.Count; i++)
        {
            int index = Array.FindIndex(Enumerable.Range(0, 40).ToArray(), j => data.Features[3 * j] == validation.Features[3 * i]);
            Assert.Equal(data.Features.AsSpan(3 * index, 3).ToArray(), validation.Features.AsSpan(3 * i, 3).ToArray());
            Assert.Equal(labels[index], validation.Labels[i]);
        }

        Dataset repeated = data.Subset([5, 5, 0]);
        Assert.Equal([.. data.Features.AsSpan(15, 3), .. data.Features.AsSpan(15, 3), .. data.Features.AsSpan(0, 3)], repeated.Features);
        Assert.Equal([1, 1, 0], repeated.Labels);
    }

    [Theory]
    [InlineData(100_000_000)]
    [InlineData(int.MaxValue)]
    public void Stratifying_groups_the_labels_present_however_large(int large)
    {
        // Grouping by index up to the largest label allocated a list per value below it (out of memory at 100 M) or
        // overflowed at int.MaxValue.
        var data = new Dataset(new float[6], [0, large, 0, large, 0, 7], 1);
        var (train, validation) = DatasetSplits.TrainValidation(data, 0.5, shuffle: true, stratify: true, seed: 1);
        Assert.Equal(6, train.Count + validation.Count);
        Assert.Single(validation.Labels, l => l == large);
        Assert.Contains(7, train.Labels);
    }

    [Fact]
    public void Shuffled_splits_are_seeded_and_keras_split_is_the_default()
    {
        Dataset data = Sorted();
        var (a, _) = DatasetSplits.TrainValidation(data, 0.2, shuffle: true, seed: 5);
        var (b, _) = DatasetSplits.TrainValidation(data, 0.2, shuffle: true, seed: 5);
        var (c, _) = DatasetSplits.TrainValidation(data, 0.2, shuffle: true, seed: 6);
        Assert.Equal(a.Features, b.Features);
        Assert.NotEqual(a.Features, c.Features);
        Assert.Equal(240, a.Count);

        // Keras's rule: the last fifth, here class 2 and half of class 1.
        var (_, keras) = DatasetSplits.TrainValidation(data, 0.2);
        Assert.Equal(Enumerable.Range(240, 60).Select(i => (float)i), keras.Features);
        Assert.DoesNotContain(0, keras.Labels);

        var (stratified, _) = DatasetSplits.TrainValidation(data, 0.2, shuffle: true, stratify: true, seed: 5);
        Assert.False(stratified.Features.SequenceEqual(stratified.Features.Order()), "a shuffled part is not in the data's order");

        // Shuffled, stratified or not, the sizes are scikit-learn's (ceil(0.28 × 25) = 8 validate); shuffling alone gave
        // Keras's floor(25 × 0.72) = 18 training samples, 25 × 0.72 being 18.000000000000004 in double. In order, Keras's.
        var small = new Dataset([.. Enumerable.Range(0, 25).Select(i => (float)i)], [.. Enumerable.Range(0, 25).Select(i => i % 2)], 1);
        Assert.Equal(8, DatasetSplits.TrainValidation(small, 0.28, shuffle: true, seed: 1).Validation.Count);
        Assert.Equal(8, DatasetSplits.TrainValidation(small, 0.28, shuffle: true, stratify: true, seed: 1).Validation.Count);
        Assert.Equal(8, small.SplitShuffled(0.28, 1).Test.Count);
        Assert.Equal(7, DatasetSplits.TrainValidation(small, 0.28).Validation.Count);
        Assert.Contains("training part would be empty", Assert.Throws<ArgumentException>(() =>
            DatasetSplits.TrainValidation(small, 0.99, shuffle: true)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_requests_name_the_problem()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplits.TrainValidation(Sorted(), 1.0));
        var regression = new Dataset([1f, 2f, 3f], [1f, 2f, 3f], 1, 1);
        var ex = Assert.Throws<ArgumentException>(() => DatasetSplits.TrainValidation(regression, 0.5, stratify: true));
        Assert.Contains("needs class labels", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sorted().Subset([0, 300]));
    }

    [Fact]
    public void Fit_warns_when_the_validation_split_misses_classes()
    {
        var model = new Sequential(1, seed: 1).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        var text = new StringWriter();
        History sorted = model.Fit(Sorted(), new FitOptions { ValidationSplit = 0.1, Callbacks = [new ProgressLogger(2, text)] });
        string warning = Assert.Single(sorted.Warnings);
        Assert.Contains("holds 1 of the 3 classes", warning, StringComparison.Ordinal);
        Assert.StartsWith("warning: the validation split", text.ToString(), StringComparison.Ordinal);

        var (train, _) = DatasetSplits.TrainValidation(Sorted(), 0.5, shuffle: true, seed: 1);
        Assert.Empty(model.Fit(train, new FitOptions { ValidationSplit = 0.2 }).Warnings);
    }

    /// <summary>The labels of <c>sklearn_kfold.py</c>'s case: four classes, first seen in the order 2, 0, 1, 5.</summary>
    private static readonly int[] KFoldLabels = [2, 0, 1, 0, 2, 2, 1, 0, 0, 1, 2, 0, 1, 1, 0, 2, 0, 5, 5];

    [Fact]
    public void Folds_are_scikit_learns_without_shuffling()
    {
        // scikit-learn 1.2.1 (sklearn_kfold.py): KFold(3) of 10 samples, and StratifiedKFold(4) of KFoldLabels, as each
        // sample's test fold.
        var plain = new Dataset(new float[10], new int[10], 1);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 2, 2, 2], DatasetSplits.FoldAssignment(plain, 3));
        var labelled = new Dataset(new float[KFoldLabels.Length], KFoldLabels, 1);
        Assert.Equal([0, 0, 0, 1, 0, 1, 0, 1, 2, 1, 2, 2, 2, 3, 3, 3, 3, 1, 2], DatasetSplits.FoldAssignment(labelled, 4, stratify: true));

        // The same from a count and from labels alone (a table's rows, a text column's codes).
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 2, 2, 2], DatasetSplits.PlainFoldAssignment(10, 3));
        Assert.Equal([0, 0, 0, 1, 0, 1, 0, 1, 2, 1, 2, 2, 2, 3, 3, 3, 3, 1, 2], DatasetSplits.StratifiedFoldAssignment(KFoldLabels, 4));
        Assert.Equal(DatasetSplits.FoldAssignment(labelled, 4, shuffle: true, stratify: true, seed: 5), DatasetSplits.StratifiedFoldAssignment(KFoldLabels, 4, shuffle: true, seed: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplits.PlainFoldAssignment(3, 4));

        // A negative count was blamed on folds, and one past an array threw OutOfMemoryException (PublicApiMisuseTests).
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplits.PlainFoldAssignment(-1, 2)).ParamName);
        var huge = Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplits.PlainFoldAssignment(int.MaxValue, 2));
        Assert.Equal("count", huge.ParamName);
        Assert.Contains("as many as one array holds", huge.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Every_sample_validates_once_and_trains_in_every_other_fold(bool shuffle, bool stratify)
    {
        Dataset data = Sorted();
        const int K = 7;
        var validatedIn = new int[data.Count];
        Array.Fill(validatedIn, -1);
        int fold = 0;
        foreach ((Dataset training, Dataset validation) in DatasetSplits.KFold(data, K, shuffle, stratify, seed: 9))
        {
            Assert.Equal(data.Count, training.Count + validation.Count);
            Assert.InRange(validation.Count, 300 / K, (300 / K) + 1);
            foreach (float index in validation.Features)
            {
                Assert.Equal(-1, validatedIn[(int)index]);
                validatedIn[(int)index] = fold;
            }

            // Both parts in the data's order, each sample with its own label, and no sample in both.
            Assert.True(training.Features.SequenceEqual(training.Features.Order()));
            Assert.True(validation.Features.SequenceEqual(validation.Features.Order()));
            Assert.Empty(training.Features.Intersect(validation.Features));
            for (int i = 0; i < training.Count; i++)
            {
                Assert.Equal(data.Labels[(int)training.Features[i]], training.Labels[i]);
            }

            if (stratify)
            {
                // 150, 100 and 50 samples over 7 folds: each class's count within one of its share.
                foreach ((int label, int count) in new[] { (0, 150), (1, 100), (2, 50) })
                {
                    Assert.InRange(validation.Labels.Count(l => l == label), count / K, (count / K) + 1);
                }
            }

            fold++;
        }

        Assert.Equal(K, fold);
        Assert.DoesNotContain(-1, validatedIn);
        Assert.Equal(validatedIn, DatasetSplits.FoldAssignment(data, K, shuffle, stratify, seed: 9));

        // Without shuffling a plain split cuts the data in runs; shuffled, the seed decides.
        int[] other = DatasetSplits.FoldAssignment(data, K, shuffle, stratify, seed: 10);
        if (shuffle)
        {
            Assert.NotEqual(validatedIn, other);
        }
        else
        {
            Assert.Equal(validatedIn, other);
        }

        if (!shuffle && !stratify)
        {
            Assert.True(validatedIn.SequenceEqual(validatedIn.Order()));
        }
    }

    [Fact]
    public void Bad_fold_counts_and_unlabelled_stratification_are_refused_at_the_call()
    {
        Dataset data = Sorted();
        Assert.Contains("from 2 folds to one per sample (300); got 1",
            Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplits.KFold(data, 1)).Message, StringComparison.Ordinal);
        Assert.Contains("got 301", Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplits.KFold(data, 301)).Message, StringComparison.Ordinal);
        var regression = new Dataset(new float[8], new float[8], 2, 2);
        Assert.Contains("Stratifying needs class labels",
            Assert.Throws<ArgumentException>(() => DatasetSplits.KFold(regression, 2, stratify: true)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => DatasetSplits.KFold(null!, 2));

        // Stratified folds need one class at least as large as the fold count (scikit-learn's ValueError).
        var small = new Dataset(new float[6], [0, 0, 1, 1, 2, 2], 1);
        Assert.Contains("the largest class here has 2",
            Assert.Throws<ArgumentException>(() => DatasetSplits.KFold(small, 3, stratify: true)).Message, StringComparison.Ordinal);
        Assert.Equal([0, 1, 0, 1, 0, 1], DatasetSplits.FoldAssignment(small, 2, stratify: true));

        // As many folds as samples is leave-one-out.
        var four = new Dataset([1f, 2f, 3f, 4f], [0, 1, 0, 1], 1);
        Assert.Equal([0, 1, 2, 3], DatasetSplits.FoldAssignment(four, 4));
        Assert.All(DatasetSplits.KFold(four, 4, shuffle: true, seed: 2), pair => Assert.Equal((3, 1), (pair.Training.Count, pair.Validation.Count)));
    }

    [Fact]
    public void Fractions_in_messages_are_written_with_a_point_whatever_the_culture()
    {
        // "validationFraction=0,25" under a German culture, where every other message of the library writes 0.25.
        System.Globalization.CultureInfo before = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            // A culture of decimal commas built by hand: the tests run in globalization-invariant mode, without de-DE.
            var commas = (System.Globalization.CultureInfo)System.Globalization.CultureInfo.InvariantCulture.Clone();
            commas.NumberFormat.NumberDecimalSeparator = ",";
            System.Globalization.CultureInfo.CurrentCulture = commas;
            var e = Assert.Throws<ArgumentException>(() => DatasetSplits.TrainValidation(new Dataset([1f, 2f, 3f], [0, 1, 2], 1), 0.25, stratify: true));
            Assert.Contains("validationFraction=0.25:", e.Message, StringComparison.Ordinal);
            e = Assert.Throws<ArgumentException>(() => TextTable.Read(new StringReader("a\n1\n"), "t.csv").SplitShuffled(0.25, 1));
            Assert.Contains("testFraction=0.25:", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = before;
        }
    }
}
