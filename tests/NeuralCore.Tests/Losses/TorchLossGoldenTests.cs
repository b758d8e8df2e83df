using System.Text.Json;
using NeuralCore.Losses;

namespace NeuralCore.Tests.Losses;

/// <summary>
/// The core losses against PyTorch's own (torch.nn.functional's cross_entropy, binary_cross_entropy(_with_logits),
/// mse_loss, l1_loss, huber_loss, and log(cosh) in torch ops), an implementation written independently of NeuralCore and
/// of golden_losses.py: torch_losses.py (beside this file) runs them in float64 on fixed inputs and writes each case's
/// reduced loss and its autograd gradient with respect to the model output to golden_torch_losses.json, the only file
/// this test reads. The script's docstring says where PyTorch's definitions differ from Keras's and how the cases meet them.
/// </summary>
public class TorchLossGoldenTests
{
    private static readonly JsonElement Golden = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Losses", "golden_torch_losses.json"))).RootElement;

    public static TheoryData<string> Cases() => [.. Golden.GetProperty("cases").EnumerateObject().Select(c => c.Name)];

    private static ILoss Create(JsonElement c)
    {
        JsonElement args = c.GetProperty("arguments");
        bool B(string name) => args.TryGetProperty(name, out JsonElement v) && v.GetBoolean();
        float F(string name, float fallback) => args.TryGetProperty(name, out JsonElement v) ? (float)v.GetDouble() : fallback;
        Reduction reduction = c.GetProperty("reduction").GetString() switch
        {
            "sum_over_batch_size" => Reduction.Mean,
            "sum" => Reduction.Sum,
            var other => throw new InvalidOperationException($"golden_torch_losses.json has a reduction '{other}' that this test does not build."),
        };
        return c.GetProperty("loss").GetString() switch
        {
            "softmax_cross_entropy" => new SoftmaxCrossEntropy(F("label_smoothing", 0f), reduction),
            "categorical_crossentropy" => new CategoricalCrossentropy(B("from_logits"), F("label_smoothing", 0f), reduction),
            "binary_crossentropy" => new BinaryCrossentropy(B("from_logits"), F("label_smoothing", 0f), reduction),
            "mean_squared_error" => new MeanSquaredError(reduction),
            "mean_absolute_error" => new MeanAbsoluteError(reduction),
            "huber_loss" => new Huber(F("delta", 1f), reduction),
            "log_cosh" => new LogCosh(reduction),
            var other => throw new InvalidOperationException($"golden_torch_losses.json has a case of '{other}' that this test does not build."),
        };
    }

    private static float[] Floats(JsonElement rows) =>
        [.. rows.EnumerateArray().SelectMany(r => r.EnumerateArray()).Select(v => (float)v.GetDouble())];

    private static double[] Doubles(JsonElement rows) =>
        [.. rows.EnumerateArray().SelectMany(r => r.EnumerateArray()).Select(v => v.GetDouble())];

    // The inputs are float32 numbers in both (the script rounds them first), so the gap is NeuralCore's float32
    // arithmetic against PyTorch's float64: each value passes through a few float operations (a difference, an exp, a
    // division by the batch), each off by at most half an ulp (6e-8 relative), and the losses sum in double. Measured
    // on these cases, the largest gap is 4.7e-8 of the loss value and 9.8e-8 of the gradient's largest entry, about one
    // float32 ulp; 1e-6 of that scale (8 ulps) leaves room for another compiler's or ISA's rounding and still catches any
    // slip of a formula, which moves a value by percents.
    private const double Tolerance = 1e-6;

    private static void Near(double expected, double actual, double scale, string what)
    {
        double tolerance = Tolerance * scale;
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: PyTorch {expected:R}, NeuralCore {actual:R} (tolerance {tolerance:G3})");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Value_and_gradient_match_pytorch(string name)
    {
        JsonElement c = Golden.GetProperty("cases").GetProperty(name);
        ILoss loss = Create(c);
        float[] output = Floats(c.GetProperty("output"));
        int batch = c.GetProperty("output").GetArrayLength(), outputs = output.Length / batch;
        int[] labels = c.TryGetProperty("labels", out JsonElement l) ? [.. l.EnumerateArray().Select(v => v.GetInt32())] : [];
        float[] values = c.TryGetProperty("targets", out JsonElement t) ? Floats(t) : [];
        float[] weights = c.TryGetProperty("sample_weights", out JsonElement w) ? [.. w.EnumerateArray().Select(v => (float)v.GetDouble())] : [];
        LossTargets targets = labels.Length > 0 ? LossTargets.FromLabels(labels, weights) : LossTargets.FromValues(values, weights);
        loss.CheckTargets(targets, batch, outputs, "targets");

        float[] grad = new float[output.Length];
        double value = loss.Compute(output, targets, grad, batch, outputs);
        double expected = c.GetProperty("value").GetDouble();
        Near(expected, value, Math.Abs(expected), $"{name} loss");

        double[] gradient = Doubles(c.GetProperty("gradient"));
        Assert.Equal(gradient.Length, grad.Length);
        // Relative to the largest entry: float32 rounds each entry to the size of the row's softmax or of 1/batch, so a
        // tiny entry (a saturated sigmoid's 1e-14) is only as exact as its neighbours.
        double largest = gradient.Max(Math.Abs);
        for (int i = 0; i < grad.Length; i++)
        {
            Near(gradient[i], grad[i], largest, $"{name} gradient [{i / outputs}, {i % outputs}]");
        }
    }
}
