using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Models;
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
}
