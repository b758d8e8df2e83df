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
            "Ftrl" => new Ftrl(new FtrlOptions(lr, F("learning_rate_power"), F("initial_accumulator_value"), F("l1_regularization_strength"),
                F("l2_regularization_strength"), F("l2_shrinkage_regularization_strength"), F("beta"))),
            var other => throw new InvalidOperationException($"golden_keras_optimizers.json has a case of class '{other}' that this test does not build."),
        };
    }

    /// <summary>keras_optimizers.py's gradient at step <paramref name="t"/>.</summary>
    internal static float[] Gradient(int t, bool flipping)
    {
        float[] g = [0.1f * t, -0.3f, 1.0f / t, -0.05f * t * t];
        return flipping && t % 3 == 0 ? [.. g.Select(x => -2f * x)] : g;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_keras(string name)
    {
        JsonElement c = Golden.GetProperty("cases").GetProperty(name);
        AssertSteps("Keras", name, () => Create(c), Golden, c.GetProperty("theta"), c.GetProperty("gradient").GetString() == "flipping");
    }

    /// <summary>
    /// Runs a fresh optimizer from <paramref name="golden"/>'s theta0 for each of its step counts and compares the
    /// parameters with <paramref name="expected"/>'s values for that count.
    /// </summary>
    internal static void AssertSteps(string source, string name, Func<IOptimizer> create, JsonElement golden, JsonElement expected, bool flipping)
    {
        foreach (JsonElement steps in golden.GetProperty("steps").EnumerateArray())
        {
            int count = steps.GetInt32();
            IOptimizer optimizer = create();
            float[] theta = [.. golden.GetProperty("theta0").EnumerateArray().Select(v => (float)v.GetDouble())];
            optimizer.Initialize(theta.Length);
            for (int t = 1; t <= count; t++)
            {
                optimizer.Update(theta, Gradient(t, flipping));
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
