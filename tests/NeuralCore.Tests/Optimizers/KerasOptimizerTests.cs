using System.Globalization;
using System.Text.Json;
using NeuralCore.Optimizers;

namespace NeuralCore.Tests.Optimizers;

/// <summary>
/// The optimizers against Keras 3's own update code: keras_optimizers.py (beside this file) compiles the
/// <c>update_step</c> methods of keras/src/optimizers/*.py as they are and runs them in float64 over NumPy, writing
/// golden_keras_optimizers.json. NeuralCore computes in float32: they agree to a few ulps of the parameters per step.
/// PyTorch's versions of the same rules are the second source (<see cref="TorchOptimizerTests"/>).
/// </summary>
public class KerasOptimizerTests
{
    private static readonly JsonElement Golden = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Optimizers", "golden_keras_optimizers.json"))).RootElement;

    public static TheoryData<string> Cases() => [.. Golden.GetProperty("cases").EnumerateObject().Select(c => c.Name)];

    /// <summary>The optimizer a case describes, from the hyperparameters the script ran Keras's code with.</summary>
    private static IOptimizer Create(JsonElement c)
    {
        float F(string name) => (float)c.GetProperty(name).GetDouble();
        float lr = F("learning_rate");
        return c.GetProperty("class").GetString() switch
        {
            "Adam" => new Adam(new AdamOptions(lr, F("beta_1"), F("beta_2"), F("epsilon"))),
            "Adagrad" => new Adagrad(new AdagradOptions(lr, (float)c.GetProperty("initial_state").GetProperty("_accumulators").GetDouble(), F("epsilon"))),
            "Adadelta" => new Adadelta(new AdadeltaOptions(lr, F("rho"), F("epsilon"))),
            "Adamax" => new Adamax(new AdamaxOptions(lr, F("beta_1"), F("beta_2"), F("epsilon"))),
            "Nadam" => new Nadam(new NadamOptions(lr, F("beta_1"), F("beta_2"), F("epsilon"))),
            "Lion" => new Lion(new LionOptions(lr, F("beta_1"), F("beta_2"))),
            "Lamb" => new Lamb(new LambOptions(lr, F("beta_1"), F("beta_2"), F("epsilon"))),
            "Adafactor" => new Adafactor(new AdafactorOptions(lr, F("beta_2_decay"), F("epsilon_1"), F("epsilon_2"), F("clip_threshold"))),
            "Ftrl" => new Ftrl(new FtrlOptions(lr, F("learning_rate_power"), F("initial_accumulator_value"), F("l1_regularization_strength"),
                F("l2_regularization_strength"), F("l2_shrinkage_regularization_strength"), F("beta"))),
            var other => throw new InvalidOperationException($"golden_keras_optimizers.json has a case of class '{other}' that this test does not build."),
        };
    }

    /// <summary>
    /// keras_optimizers.py's gradient at step <paramref name="t"/> for a variable of <paramref name="size"/> elements
    /// (4, or 6 for the [2, 3] matrix cases).
    /// </summary>
    internal static float[] Gradient(int t, bool flipping, int size = 4)
    {
        float[] g = [.. new[] { 0.1f * t, -0.3f, 1.0f / t, -0.05f * t * t, 0.2f, -0.02f * t }.Take(size)];
        return flipping && t % 3 == 0 ? [.. g.Select(x => -2f * x)] : g;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_keras(string name)
    {
        JsonElement c = Golden.GetProperty("cases").GetProperty(name);
        // A case with a shape runs on one [rows, columns] matrix variable, with its own theta0.
        int columns = c.TryGetProperty("shape", out JsonElement shape) ? shape[1].GetInt32() : 0;
        AssertSteps("Keras", name, () => Create(c), Golden, c.GetProperty("theta"), c.GetProperty("gradient").GetString() == "flipping",
            c.TryGetProperty("theta0", out JsonElement theta0) ? theta0 : null, columns);
    }

    /// <summary>
    /// Runs a fresh optimizer from <paramref name="golden"/>'s theta0 (or <paramref name="theta0"/>) for each of its step
    /// counts and compares the parameters with <paramref name="expected"/>'s values for that count; with
    /// <paramref name="columns"/>, the parameters are one matrix variable of that many columns.
    /// </summary>
    internal static void AssertSteps(string source, string name, Func<IOptimizer> create, JsonElement golden, JsonElement expected, bool flipping,
        JsonElement? theta0 = null, int columns = 0)
    {
        foreach (JsonElement steps in golden.GetProperty("steps").EnumerateArray())
        {
            int count = steps.GetInt32();
            IOptimizer optimizer = create();
            float[] theta = [.. (theta0 ?? golden.GetProperty("theta0")).EnumerateArray().Select(v => (float)v.GetDouble())];
            if (columns > 0)
            {
                ((Optimizer)optimizer).Initialize(theta.Length, [new ParameterSegment("matrix", 0, theta.Length, ParameterRole.Weight) { Columns = columns }]);
            }
            else
            {
                optimizer.Initialize(theta.Length);
            }

            for (int t = 1; t <= count; t++)
            {
                optimizer.Update(theta, Gradient(t, flipping, theta.Length));
            }

            double[] values = [.. expected.GetProperty(count.ToString(CultureInfo.InvariantCulture)).EnumerateArray().Select(v => v.GetDouble())];
            for (int i = 0; i < theta.Length; i++)
            {
                // Float32 rounding of each step's arithmetic, accumulated over the steps, on parameters of size about 2.
                double tolerance = 4e-7 * count * Math.Max(1, Math.Abs(values[i]));
                Assert.True(Math.Abs(values[i] - theta[i]) <= tolerance,
                    $"{name}, {count} steps, element {i}: {source} {values[i]:G9}, NeuralCore {theta[i]:G9} (tolerance {tolerance:G3})");
            }
        }
    }

    [Fact]
    public void Every_registered_optimizer_is_checked_against_keras_code_or_keras_formulas()
    {
        // A new optimizer must come with its golden values: a case here, or (SGD and RMSprop, older) golden_optimizers.py.
        HashSet<string> covered = [.. Golden.GetProperty("cases").EnumerateObject()
            .Select(c => c.Value.GetProperty("class").GetString()!.ToLowerInvariant()), "sgd", "rmsprop"];
        Assert.All(Configuration.ComponentRegistry.OptimizerTypes, type => Assert.Contains(type, covered));
    }
}
