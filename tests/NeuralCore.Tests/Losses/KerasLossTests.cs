using System.Text.Json;
using NeuralCore.Losses;

namespace NeuralCore.Tests.Losses;

/// <summary>
/// The losses against Keras 3's own loss code: keras_losses.py (beside this file) compiles the functions of
/// keras/src/losses/losses.py as they are and runs them in float64 on PyTorch tensors, whose autograd gives each
/// sample's gradient; it writes golden_keras_losses.json. Where PyTorch has the loss natively (Poisson, KL divergence)
/// its values are the second source.
/// </summary>
public class KerasLossTests
{
    private static readonly JsonElement Golden = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Losses", "golden_keras_losses.json"))).RootElement;

    public static TheoryData<string> Cases() => [.. Golden.GetProperty("cases").EnumerateObject().Select(c => c.Name)];

    /// <summary>The loss a case describes, summed so that its gradient is each sample's own.</summary>
    private static ILoss Create(JsonElement c)
    {
        JsonElement args = c.GetProperty("arguments");
        bool B(string name, bool fallback) => args.TryGetProperty(name, out JsonElement v) ? v.GetBoolean() : fallback;
        float F(string name, float fallback) => args.TryGetProperty(name, out JsonElement v) ? (float)v.GetDouble() : fallback;
        const Reduction sum = Reduction.Sum;
        return c.GetProperty("function").GetString() switch
        {
            "mean_absolute_percentage_error" => new MeanAbsolutePercentageError(sum),
            "mean_squared_logarithmic_error" => new MeanSquaredLogarithmicError(sum),
            "poisson" => new Poisson(sum),
            "kl_divergence" => new KLDivergence(sum),
            "cosine_similarity" => new CosineSimilarity(sum),
            "hinge" => new Hinge(sum),
            "squared_hinge" => new SquaredHinge(sum),
            "categorical_hinge" => new CategoricalHinge(sum),
            "binary_focal_crossentropy" => new BinaryFocalCrossentropy(B("apply_class_balancing", false), F("alpha", 0.25f), F("gamma", 2f),
                B("from_logits", false), F("label_smoothing", 0f), sum),
            "categorical_focal_crossentropy" => new CategoricalFocalCrossentropy(
                args.TryGetProperty("alpha", out JsonElement a) && a.ValueKind == JsonValueKind.Array ? 0.25f : F("alpha", 0.25f), F("gamma", 2f),
                B("from_logits", false), F("label_smoothing", 0f), sum)
            {
                ClassAlphas = args.TryGetProperty("alpha", out JsonElement list) && list.ValueKind == JsonValueKind.Array
                    ? [.. list.EnumerateArray().Select(v => (float)v.GetDouble())]
                    : null,
            },
            var other => throw new InvalidOperationException($"golden_keras_losses.json has a case of '{other}' that this test does not build."),
        };
    }

    private static float[] Flat(JsonElement rows) =>
        [.. rows.EnumerateArray().SelectMany(r => r.EnumerateArray()).Select(v => (float)v.GetDouble())];

    private static double[] Doubles(JsonElement values) => [.. values.EnumerateArray().Select(v => v.GetDouble())];

    // The inputs are the float32 roundings of the script's float64 values, and the losses compute in float and double:
    // they agree to a few parts in 1e7 of the value's size.
    private static void Near(double expected, double actual, string what)
    {
        double tolerance = 2e-6 * Math.Max(1, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:G3})");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Values_and_gradients_match_keras(string name)
    {
        JsonElement c = Golden.GetProperty("cases").GetProperty(name);
        ILoss loss = Create(c);
        float[] output = Flat(c.GetProperty("y_pred")), targets = Flat(c.GetProperty("y_true"));
        double[] expected = Doubles(c.GetProperty("losses"));
        int batch = expected.Length, outputs = output.Length / batch;
        var t = LossTargets.FromValues(targets);
        loss.CheckTargets(t, batch, outputs, "y_true");

        double[] perSample = new double[batch];
        loss.PerSample(output, t, perSample, batch, outputs);
        for (int r = 0; r < batch; r++)
        {
            Near(expected[r], perSample[r], $"{name} loss of sample {r}");
        }

        if (c.TryGetProperty("torch_losses", out JsonElement torch))
        {
            double[] second = Doubles(torch);
            for (int r = 0; r < batch; r++)
            {
                Near(second[r], perSample[r], $"{name} loss of sample {r} against PyTorch's own");
            }
        }

        float[] grad = new float[output.Length];
        Near(expected.Sum(), loss.Compute(output, t, grad, batch, outputs), $"{name} summed loss");
        double[] gradients = [.. c.GetProperty("gradients").EnumerateArray().SelectMany(r => r.EnumerateArray())
            .Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN)];
        for (int i = 0; i < grad.Length; i++)
        {
            if (double.IsNaN(gradients[i]))
            {
                // Null in the file: Keras's autodiff meets 0^(γ-1) at a perfect prediction (γ < 1); the loss takes the focal term's
                // gradient there as 0 (see BinaryFocalCrossentropy).
                Assert.Equal(0f, grad[i]);
                continue;
            }

            Near(gradients[i], grad[i], $"{name} gradient [{i / outputs}, {i % outputs}]");
        }
    }
}
