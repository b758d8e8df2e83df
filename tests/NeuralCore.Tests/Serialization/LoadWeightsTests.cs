using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Tests.Models;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests.Serialization;

/// <summary><see cref="ModelFile.LoadWeights"/>: Keras's <c>model.load_weights</c> from a model file.</summary>
public sealed class LoadWeightsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("neuralcore-weights-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Sequential Build(ulong seed, int units = 8) =>
        new Sequential(2, seed).Add(new Dense(units)).Add(new BatchNormalization()).Add(new Relu()).Add(new Dense(4));

    [Fact]
    public void A_model_built_in_code_takes_a_saved_models_weights_and_predicts_what_it_did()
    {
        var (x, y) = FitTests.Blobs(200, 1);
        Sequential trained = Build(seed: 5);
        trained.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        trained.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 32 });
        string path = Path.Combine(_dir, "trained.ncm");
        ModelFile.Save(trained, path);

        // Another seed, another optimizer, and a frozen layer: the weights and the running statistics come from the
        // file; the optimizer, its state and the flag stay the model's own.
        Sequential model = Build(seed: 9);
        var sgd = new Sgd(0.1f);
        model.Compile(new SoftmaxCrossEntropy(), sgd);
        model.Layers[0].Trainable(false);
        Assert.NotEqual(trained.Parameters.ToArray(), model.Parameters.ToArray());
        ModelFile.LoadWeights(model, path);

        Assert.Equal(trained.Parameters.ToArray(), model.Parameters.ToArray());
        float[] state = new float[trained.NonTrainableCount], loaded = new float[model.NonTrainableCount];
        trained.CopyNonTrainable(state);
        model.CopyNonTrainable(loaded);
        Assert.Equal(state, loaded);
        float[] expected = new float[200 * 4], actual = new float[200 * 4];
        trained.Predict(x, expected, 200);
        model.Predict(x, actual, 200);
        Assert.Equal(expected, actual);
        Assert.Same(sgd, model.Optimizer);
        Assert.False(((Layer)model.Layers[0]).Trainable);

        // It trains on from there.
        model.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 32 });
        Assert.NotEqual(trained.Layers[3].Parameters.ToArray(), model.Layers[3].Parameters.ToArray());
    }

    [Fact]
    public void A_file_of_other_layers_is_refused_by_layer_and_leaves_the_model_as_it_was()
    {
        string path = Path.Combine(_dir, "wide.ncm");
        ModelFile.Save(Build(seed: 5, units: 6), path);
        Sequential model = Build(seed: 9);
        float[] before = model.Parameters.ToArray();

        var e = Assert.Throws<ArgumentException>(() => ModelFile.LoadWeights(model, path));
        Assert.Equal("path", e.ParamName);
        Assert.StartsWith("wide.ncm: layer 0 is Dense 'dense' (2 -> 6, 18 parameters) in the file but Dense 'dense' (2 -> 8, 24 parameters) in the model", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Parameters.ToArray());

        var shorter = new Sequential(2, 5).Add(new Dense(8)).Add(new BatchNormalization()).Add(new Relu());
        ModelFile.Save(shorter, path);
        e = Assert.Throws<ArgumentException>(() => ModelFile.LoadWeights(model, path));
        Assert.StartsWith("wide.ncm holds 3 layers and the model 4", e.Message, StringComparison.Ordinal);

        // The same sizes in another layer type: a layer normalization where the model has a batch normalization.
        var other = new Sequential(2, 5).Add(new Dense(8)).Add(new LayerNormalization()).Add(new Relu()).Add(new Dense(4));
        ModelFile.Save(other, path);
        e = Assert.Throws<ArgumentException>(() => ModelFile.LoadWeights(model, path));
        Assert.Contains("layer 1 is LayerNormalization", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void A_missing_or_damaged_file_is_refused_as_load_refuses_it()
    {
        Sequential model = Build(seed: 9);
        Assert.Throws<FileNotFoundException>(() => ModelFile.LoadWeights(model, Path.Combine(_dir, "none.ncm")));
        string path = Path.Combine(_dir, "damaged.ncm");
        ModelFile.Save(Build(seed: 5), path);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => ModelFile.LoadWeights(model, path));
        Assert.Throws<ArgumentNullException>(() => ModelFile.LoadWeights(null!, path));
    }
    [Fact]
    public void A_layer_normalizations_scale_is_not_loaded_into_another_ones_offset()
    {
        // Same type, sizes and parameter count, but the file's one parameter vector is a scale (gamma) and the model's
        // an offset (beta): loading it would silently turn every normalized output into gamma + 0 instead of gamma * x.
        string path = Path.Combine(_dir, "scale.ncm");
        var saved = new Sequential(3, 5).Add(new Dense(4)).Add(new LayerNormalization(center: false, scale: true));
        saved.Layers[1].Parameters.Span.Fill(2f);
        ModelFile.Save(saved, path);
        var model = new Sequential(3, 9).Add(new Dense(4)).Add(new LayerNormalization(center: true, scale: false));
        float[] before = model.Parameters.ToArray();

        var e = Assert.Throws<ArgumentException>(() => ModelFile.LoadWeights(model, path));
        Assert.Contains("layer 1", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void Adapted_statistics_are_not_loaded_over_statistics_given_at_construction()
    {
        // Keras makes given statistics constants, not variables: a file's adapted ones do not replace them.
        string path = Path.Combine(_dir, "adapted.ncm");
        var adapted = new Normalization();
        adapted.Adapt([1f, 2f, 3f, 5f, 7f, 11f], 3);
        ModelFile.Save(new Sequential(2, 5).Add(adapted).Add(new Dense(3)), path);
        var model = new Sequential(2, 9).Add(new Normalization([0.5f, 0.5f], [4f, 4f])).Add(new Dense(3));
        float[] before = model.Predict([1f, 1f]);

        var e = Assert.Throws<ArgumentException>(() => ModelFile.LoadWeights(model, path));
        Assert.Contains("layer 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("statistics given at construction", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Predict([1f, 1f]));
    }
}
