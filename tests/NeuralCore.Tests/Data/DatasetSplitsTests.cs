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
}
