using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;

namespace NeuralCore.Tests.Models;

/// <summary>Careless or hostile arguments to the inference entry points get an exception that names the problem.</summary>
public class PredictArgumentTests
{
    // One input, a thousand outputs: 3,000,000 samples are 12 MB of inputs but 3e9 predictions, more than an array holds.
    private const int WideCount = 3_000_000;

    [Fact]
    public void Predicting_more_values_than_an_array_holds_from_a_span_names_the_count()
    {
        var model = new Sequential(1, seed: 1).Add(new Dense(1000));
        float[] inputs = new float[WideCount];

        // Was an OverflowException from new float[3e9], naming nothing.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Predict(inputs, WideCount));
        Assert.Equal("count", e.ParamName);
        Assert.Contains("3000000 samples × 1000 outputs = 3000000000 predictions, more than an array holds", e.Message, StringComparison.Ordinal);
        Assert.Contains("predict at most 2147483 samples at a time", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Predicting_more_values_than_an_array_holds_from_a_dataset_names_the_data()
    {
        var model = new Sequential(1, seed: 1).Add(new Dense(1000));
        var data = new Dataset(new float[WideCount], new int[WideCount], 1);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Predict(data));
        Assert.Equal("data", e.ParamName);
        Assert.Contains("more than an array holds", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classes_and_evaluation_of_a_model_whose_outputs_outgrow_an_array_per_pass_name_the_batch_size()
    {
        // 1,000 samples of 3,000,000 outputs: chunk × outputs overflowed int, and ArrayPool refused a negative 'minimumLength'.
        var model = new Sequential(1, seed: 1).Add(new Dense(3_000_000));
        float[] inputs = new float[1000];
        var data = new Dataset(inputs, new int[1000], 1);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.PredictClasses(inputs, 1000));
        Assert.Equal("batchSize", e.ParamName);
        Assert.Contains("A batch of 1000 samples needs 1000 × 3000000 (the widest layer) = 3000000000 floats per buffer", e.Message, StringComparison.Ordinal);
        Assert.Contains("pass a batchSize of at most 715", e.Message, StringComparison.Ordinal);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => model.PredictClasses(data)).ParamName);

        model.Compile(new SoftmaxCrossEntropy(), new Sgd());
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => model.Evaluate(data)).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => model.Evaluate(inputs, new int[1000], 1000)).ParamName);

        // A batch size that fits is served.
        Assert.Equal(3, model.PredictClasses(inputs.AsSpan(0, 3), 3, batchSize: 2).Length);
    }

    [Fact]
    public void A_batch_whose_activation_buffers_exceed_the_memory_the_process_may_use_is_refused_before_allocating()
    {
        // A 1,000,000-unit hidden layer: 100 samples need two buffers of 400 MB, refused under a 500 MB figure (under a
        // 2 GB heap limit, 1,000 samples threw OutOfMemoryException).
        var model = new Sequential(1, seed: 1).Add(new Dense(1_000_000)).Add(new Dense(1));
        Predictor predictor = model.CreatePredictor();
        float[] inputs = new float[100], predictions = new float[100];
        Check.AvailableMemoryOverride.Value = 500L << 20;
        try
        {
            var e = Assert.Throws<InsufficientMemoryException>(() => model.Predict(inputs, predictions, 100));
            Assert.StartsWith("A batch of 100 samples' two activation buffers (100 × 1000000 floats each) needs 763 MiB, more than the 500 MiB this process may use; predict in smaller batches.", e.Message, StringComparison.Ordinal);
            Assert.Throws<InsufficientMemoryException>(() => predictor.Predict(inputs, predictions, 100));
            Assert.Throws<InsufficientMemoryException>(() => model.Infer(inputs, predictions, 100));
        }
        finally
        {
            Check.AvailableMemoryOverride.Value = 0;
        }
    }

    [Fact]
    public void Finite_inputs_whose_outputs_overflow_are_refused_by_sample_not_returned_as_NaN()
    {
        // Features near 3e38 are finite, so the input check lets them through; their sums overflowed to infinities and the
        // softmax returned rows of NaN probabilities with no word (PredictClasses alone refused them).
        var model = new Sequential(2, seed: 1).Add(new Dense(4)).Add(new Relu()).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd());
        float[] x = new float[2 * 40];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = 0.01f * (i % 7);
        }

        // Finite weights of 1: the first layer's sums for the two features of 3e38 are 6e38, past float's 3.4e38.
        model.Layers[0].Parameters.Span.Fill(1f);
        x[2 * 37] = x[(2 * 37) + 1] = 3e38f;
        const string Cause = "although the sample is finite: its weights overflow on this input. Train it again with a lower learning rate, or check the inputs' scale.";

        var ex = Assert.Throws<InvalidOperationException>(() => model.Predict(x, 40, batchSize: 16));
        Assert.StartsWith("The model's output for sample 37 is NaN " + Cause, ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidOperationException>(() => model.Predict(new Dataset(x, new int[40], 2), batchSize: 16));
        Assert.StartsWith("The model's output for sample 37 is NaN " + Cause, ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidOperationException>(() => model.Predict(x.AsSpan(2 * 37, 2)));
        Assert.StartsWith("The model's output for sample 0 is NaN " + Cause, ex.Message, StringComparison.Ordinal);

        // Evaluate hands out the same predictions when asked for them, and refuses them alike; its loss alone is reported
        // as it is, NaN, as Keras's evaluate reports it.
        var data = new Dataset(x, new int[40], 2);
        ex = Assert.Throws<InvalidOperationException>(() => model.Evaluate(data, new float[40 * 3], batchSize: 16));
        Assert.StartsWith("The model's output for sample 37 is NaN " + Cause, ex.Message, StringComparison.Ordinal);
        Assert.True(double.IsNaN(model.Evaluate(data, batchSize: 16).Loss));

        // The raw outputs (logits) overflow to infinities before any softmax.
        float[] outputs = new float[40 * 3];
        ex = Assert.Throws<InvalidOperationException>(() => model.Infer(x, outputs, 40));
        Assert.Matches("^The model's output for sample 37 is (NaN|-?Infinity) although the sample is finite", ex.Message);

        Predictor predictor = model.CreatePredictor();
        float[] predictions = new float[40 * 3];
        ex = Assert.Throws<InvalidOperationException>(() => predictor.Predict(x, predictions, 40));
        Assert.StartsWith("The model's output for sample 37 is NaN " + Cause, ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => predictor.Infer(x, outputs, 40));

        // A weight that is not finite is named as the likelier cause; the samples before the bad one are served as before.
        model.Layers[0].Parameters.Span[0] = float.PositiveInfinity;
        ex = Assert.Throws<InvalidOperationException>(() => model.Predict(x, 40));
        Assert.Contains("its weights overflow on this input (they are not all finite)", ex.Message, StringComparison.Ordinal);
        var uncompiled = new Sequential(2, seed: 1).Add(new Dense(3));
        uncompiled.Layers[0].Parameters.Span[0] = float.PositiveInfinity;
        ex = Assert.Throws<InvalidOperationException>(() => uncompiled.Predict(x, 40));
        Assert.Contains("its weights overflow on this input (they are not all finite)", ex.Message, StringComparison.Ordinal);
        model.Layers[0].Parameters.Span[0] = 1f;
        Assert.All(model.Predict(x.AsSpan(0, 2 * 37), 37), p => Assert.True(float.IsFinite(p)));
    }
}
