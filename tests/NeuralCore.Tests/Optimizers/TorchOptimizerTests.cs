using System.Text.Json;
using NeuralCore.Optimizers;

namespace NeuralCore.Tests.Optimizers;

/// <summary>
/// The optimizers against PyTorch's, an implementation written independently of NeuralCore (torch_optimizers.py and golden_torch_optimizers.json,
/// beside this file), on golden_optimizers.py's problem: theta0 = [0.5, -1.5, 2, 0], gradient at step t
/// [0.1t, -0.3, 1/t, -0.05t²] (the "flipping" cases: -2 times that at every third step). NeuralCore computes in float32, PyTorch here in float64: they agree to a few ulps of the
/// parameters after 20 steps.
/// </summary>
public class TorchOptimizerTests
{
    private static readonly JsonElement Golden = JsonDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Optimizers", "golden_torch_optimizers.json"))).RootElement;

    public static TheoryData<string> Cases =>
    [
        "adam", "adam_amsgrad", "adamw", "sgd", "sgd_momentum", "sgd_nesterov", "rmsprop", "rmsprop_momentum",
        "adagrad", "adadelta", "adamax", "adamax_fast_norm", "nadam", "nadam_large_rate",
        "adagrad_flipping", "adadelta_flipping", "adamax_flipping", "nadam_flipping",
    ];

    private static IOptimizer Create(string name) => name switch
    {
        "adam" => new Adam(new AdamOptions(Epsilon: 1e-10f)),
        "adam_amsgrad" => new Adam(new AdamOptions(Epsilon: 1e-10f, Amsgrad: true)),
        "adamw" => new Adam(new AdamOptions(Epsilon: 1e-10f)) { WeightDecay = 0.1f },
        "sgd" => new Sgd(new SgdOptions(0.01f)),
        "sgd_momentum" => new Sgd(new SgdOptions(0.01f, Momentum: 0.9f)),
        "sgd_nesterov" => new Sgd(new SgdOptions(0.01f, Momentum: 0.9f, Nesterov: true)),
        "rmsprop" => new RmsProp(new RmsPropOptions(1e-3f, Rho: 0.9f, Epsilon: 1e-10f)),
        "rmsprop_momentum" => new RmsProp(new RmsPropOptions(1e-3f, Rho: 0.9f, Momentum: 0.5f, Epsilon: 1e-10f)),
        "adagrad" or "adagrad_flipping" => new Adagrad(new AdagradOptions(0.1f, InitialAccumulatorValue: 0.1f, Epsilon: 1e-10f)),
        "adadelta" or "adadelta_flipping" => new Adadelta(new AdadeltaOptions(1f, Rho: 0.95f, Epsilon: 1e-7f)),
        "adamax" => new Adamax(new AdamaxOptions(0.1f, Epsilon: 1e-10f)),
        "adamax_fast_norm" or "adamax_flipping" => new Adamax(new AdamaxOptions(0.1f, Beta1: 0.8f, Beta2: 0.5f, Epsilon: 1e-10f)),
        "nadam" => new Nadam(new NadamOptions(1e-3f, Epsilon: 1e-10f)),
        "nadam_large_rate" or "nadam_flipping" => new Nadam(new NadamOptions(0.1f, Epsilon: 1e-10f)),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown case."),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pytorch(string name) =>
        KerasOptimizerTests.AssertSteps("PyTorch", name, () => Create(name), Golden, Golden.GetProperty(name), name.EndsWith("_flipping", StringComparison.Ordinal));
}
