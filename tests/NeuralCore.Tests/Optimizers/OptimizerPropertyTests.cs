using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Configuration;
using NeuralCore.Optimizers;

namespace NeuralCore.Tests.Optimizers;

/// <summary>
/// One optimizer run: the rule, an arena of a weight and a bias variable, a number of steps, one of the clippings
/// (0 none, 1 value, 2 per-variable norm, 3 global norm), weight decay on or off, and a seed for the values and the
/// rule's settings.
/// </summary>
public sealed record OptimizerCase(string Rule, int Weights, int Biases, int Steps, int Clipping, bool Decay, bool DecayBiases, int Seed);

public static class OptimizerGenerators
{
    public static readonly string[] Rules =
        ["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adam_amsgrad", "rmsprop", "rmsprop_momentum_centered", "adagrad", "adamax",
         "nadam", "lion", "adadelta", "ftrl"];

    public static Arbitrary<OptimizerCase> Cases() =>
        (from rule in Gen.Elements(Rules)
         from weights in Gen.Choose(1, 70) // across the 16-lane vectors' tails
         from biases in Gen.Choose(0, 9)
         from steps in Gen.Choose(1, 6)
         from clipping in Gen.Choose(0, 3)
         from decay in Gen.Elements(false, true)
         from decayBiases in Gen.Elements(false, true)
         from seed in Gen.Choose(0, int.MaxValue)
         select new OptimizerCase(rule, weights, biases, steps, clipping, decay, decayBiases, seed))
        .ToArbitrary();
}

/// <summary>
/// Every element-wise optimizer against its published update rule, written here again in double precision from the
/// formulas of its documentation (Keras 3's rules), over random arenas, settings, clippings and weight decay: the golden
/// tests pin a few fixed points; this property covers the settings between them (an ε added in the wrong place, a
/// bias correction off by one step, a clip applied per element instead of per variable).
/// </summary>
public class OptimizerPropertyTests
{
    private sealed class Settings(Random random)
    {
        // Log-uniform, so that a small ε and a large one are both drawn: where ε goes in the formula shows only when large.
        public double LogUniform(double low, double high) => Math.Exp(Math.Log(low) + (random.NextDouble() * (Math.Log(high) - Math.Log(low))));

        public double Uniform(double low, double high) => low + (random.NextDouble() * (high - low));

        public float LearningRate { get; } = (float)Math.Exp(Math.Log(1e-3) + (random.NextDouble() * Math.Log(100)));

        public float Beta1 { get; } = (float)(0.5 + (random.NextDouble() * 0.45));

        public float Beta2 { get; } = (float)(0.8 + (random.NextDouble() * 0.199));

        public float Epsilon { get; } = (float)Math.Exp(Math.Log(1e-7) + (random.NextDouble() * Math.Log(1e6)));

        public float Momentum { get; } = (float)(random.NextDouble() * 0.95);
    }

    [Property(Arbitrary = [typeof(OptimizerGenerators)], MaxTest = 400)]
    public void Every_rule_follows_its_formula_in_double_precision(OptimizerCase c)
    {
        var random = new Random(c.Seed);
        var s = new Settings(random);
        float clip = (float)s.Uniform(0.05, 3.0), decay = c.Decay ? (float)s.Uniform(0.001, 0.5) : 0f;
        double ftrlPower = -s.Uniform(0, 1), ftrlInitial = s.Uniform(0.01, 1), l1 = s.Uniform(0, 0.2), l2 = s.Uniform(0, 0.2),
            shrinkage = s.Uniform(0, 0.2), ftrlBeta = s.Uniform(0, 0.5);
        Optimizer optimizer = Create(c, s, clip, decay, ftrlPower, ftrlInitial, l1, l2, shrinkage, ftrlBeta);

        int n = c.Weights + c.Biases;
        ParameterSegment[] segments = c.Biases == 0
            ? [new("w", 0, c.Weights, ParameterRole.Weight)]
            : [new("w", 0, c.Weights, ParameterRole.Weight), new("b", c.Weights, c.Biases, ParameterRole.Bias)];
        optimizer.Initialize(n, segments);

        float[] theta = new float[n];
        for (int i = 0; i < n; i++)
        {
            theta[i] = (float)s.Uniform(-2, 2);
        }

        double[] expected = [.. theta.Select(v => (double)v)];
        var state = new double[5][];
        for (int k = 0; k < state.Length; k++)
        {
            state[k] = new double[n];
        }

        if (c.Rule == "adagrad")
        {
            Array.Fill(state[0], (double)0.1f);
        }
        else if (c.Rule == "ftrl")
        {
            Array.Fill(state[0], (double)(float)ftrlInitial);
        }

        double lr = s.LearningRate, b1 = s.Beta1, b2 = s.Beta2, eps = s.Epsilon, mu = s.Momentum, product = 1;
        for (int t = 1; t <= c.Steps; t++)
        {
            float[] g = new float[n];
            for (int i = 0; i < n; i++)
            {
                // Some exact zeros: a parameter that received no gradient this step.
                g[i] = random.Next(8) == 0 ? 0f : (float)s.Uniform(-1.5, 1.5);
            }

            double[] clipped = Clipped(g, c, clip);
            for (int i = 0; i < n; i++)
            {
                if (decay > 0 && (i < c.Weights || c.DecayBiases))
                {
                    expected[i] -= expected[i] * (double)decay * lr;
                }
            }

            if (c.Rule == "nadam")
            {
                product *= b1 * (1 - (0.5 * Math.Pow(0.96, t)));
            }

            for (int i = 0; i < n; i++)
            {
                expected[i] = Step(c.Rule, expected[i], clipped[i], t, i, state, lr, b1, b2, eps, mu, product,
                    ftrlPower, l1, l2, shrinkage, ftrlBeta);
            }

            optimizer.Update(theta, g);
        }

        for (int i = 0; i < n; i++)
        {
            // Float rounding of θ (about 1e-7 of it a step) and of the step itself (well under 1e-3 of lr): a wrong
            // formula moves θ by a sizeable part of lr.
            double tolerance = c.Steps * ((2e-6 * (1 + Math.Abs(expected[i]))) + (2e-3 * lr));
            Assert.True(Math.Abs(theta[i] - expected[i]) <= tolerance,
                $"{c}: θ[{i}] = {theta[i]:G9}, the formula gives {expected[i]:G9} (lr {lr:G4}, β1 {b1:G4}, β2 {b2:G4}, ε {eps:G4}, μ {mu:G4}, clip {clip:G4}, decay {decay:G4})");
        }
    }

    private static Optimizer Create(OptimizerCase c, Settings s, float clip, float decay, double power, double initial, double l1, double l2,
        double shrinkage, double beta)
    {
        float lr = s.LearningRate;
        Optimizer optimizer = c.Rule switch
        {
            "sgd" => new Sgd(new SgdOptions(lr)),
            "sgd_momentum" => new Sgd(new SgdOptions(lr, s.Momentum)),
            "sgd_nesterov" => new Sgd(new SgdOptions(lr, s.Momentum, Nesterov: true)),
            "adam" => new Adam(new AdamOptions(lr, s.Beta1, s.Beta2, s.Epsilon)),
            "adam_amsgrad" => new Adam(new AdamOptions(lr, s.Beta1, s.Beta2, s.Epsilon, Amsgrad: true)),
            "rmsprop" => new RmsProp(new RmsPropOptions(lr, s.Beta2, 0f, s.Epsilon)),
            "rmsprop_momentum_centered" => new RmsProp(new RmsPropOptions(lr, s.Beta2, s.Momentum, s.Epsilon, Centered: true)),
            "adagrad" => new Adagrad(new AdagradOptions(lr, 0.1f, s.Epsilon)),
            "adamax" => new Adamax(new AdamaxOptions(lr, s.Beta1, s.Beta2, s.Epsilon)),
            "nadam" => new Nadam(new NadamOptions(lr, s.Beta1, s.Beta2, s.Epsilon)),
            "lion" => new Lion(new LionOptions(lr, s.Beta1, s.Beta2)),
            "adadelta" => new Adadelta(new AdadeltaOptions(lr, s.Beta2, s.Epsilon)),
            "ftrl" => new Ftrl(new FtrlOptions(lr, (float)power, (float)initial, (float)l1, (float)l2, (float)shrinkage, (float)beta)),
            _ => throw new ArgumentOutOfRangeException(nameof(c), c.Rule, "unknown rule"),
        };

        // The common settings are init-only: they are set through a config, as a model file sets them, so the factory's
        // reading of them is under test as well.
        var config = new ComponentConfig(ComponentRegistry.ConfigOf(optimizer).TypeId);
        if (decay > 0)
        {
            config.Set("weight_decay", decay).Set("decay_biases", c.DecayBiases);
        }

        string? clipKey = c.Clipping switch { 1 => "clipvalue", 2 => "clipnorm", 3 => "global_clipnorm", _ => null };
        if (clipKey is not null)
        {
            config.Set(clipKey, clip);
        }

        optimizer.WriteConfig(config);
        var configured = (Optimizer)ComponentRegistry.CreateOptimizer(config);
        Assert.Equal(decay, configured.WeightDecay);
        Assert.Equal(c.Clipping == 1 ? clip : 0f, configured.ClipValue);
        return configured;
    }

    private static double[] Clipped(float[] g, OptimizerCase c, float clip)
    {
        double[] result = [.. g.Select(v => (double)v)];
        switch (c.Clipping)
        {
            case 1:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = Math.Clamp(result[i], -clip, clip);
                }

                break;
            case 2:
                ScaleToNorm(result.AsSpan(0, c.Weights), clip);
                ScaleToNorm(result.AsSpan(c.Weights), clip);
                break;
            case 3:
                ScaleToNorm(result, clip);
                break;
        }

        return result;
    }

    private static void ScaleToNorm(Span<double> g, double clip)
    {
        double norm = 0;
        foreach (double v in g)
        {
            norm += v * v;
        }

        norm = Math.Sqrt(norm);
        if (norm > clip)
        {
            for (int i = 0; i < g.Length; i++)
            {
                g[i] *= clip / norm;
            }
        }
    }

    // One element's step of each rule, as its XML documentation states it; state[k][i] is the rule's k-th quantity.
    private static double Step(string rule, double theta, double g, int t, int i, double[][] state, double lr, double b1, double b2,
        double eps, double mu, double product, double power, double l1, double l2, double shrinkage, double beta)
    {
        double[] a = state[0], b = state[1], c = state[2];
        switch (rule)
        {
            case "sgd":
                return theta - (lr * g);
            case "sgd_momentum":
                a[i] = (mu * a[i]) - (lr * g);
                return theta + a[i];
            case "sgd_nesterov":
                a[i] = (mu * a[i]) - (lr * g);
                return theta + (mu * a[i]) - (lr * g);
            case "adam":
            case "adam_amsgrad":
                {
                    double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
                    a[i] += (g - a[i]) * (1 - b1);
                    b[i] += ((g * g) - b[i]) * (1 - b2);
                    double v = b[i];
                    if (rule == "adam_amsgrad")
                    {
                        c[i] = Math.Max(c[i], b[i]);
                        v = c[i];
                    }

                    return theta - (alpha * a[i] / (Math.Sqrt(v) + eps));
                }

            case "rmsprop":
            case "rmsprop_momentum_centered":
                {
                    double rho = b2;
                    a[i] = (rho * a[i]) + ((1 - rho) * g * g);
                    double d = a[i] + eps;
                    if (rule == "rmsprop_momentum_centered")
                    {
                        c[i] = (rho * c[i]) + ((1 - rho) * g);
                        d = a[i] - (c[i] * c[i]) + eps;
                    }

                    double delta = lr * g / Math.Sqrt(d);
                    if (rule == "rmsprop")
                    {
                        return theta - delta;
                    }

                    b[i] = (mu * b[i]) + delta;
                    return theta - b[i];
                }

            case "adagrad":
                a[i] += g * g;
                return theta - (lr * g / Math.Sqrt(a[i] + eps));
            case "adamax":
                a[i] += (g - a[i]) * (1 - b1);
                b[i] = Math.Max(b2 * b[i], Math.Abs(g));
                return theta - (lr * a[i] / ((1 - Math.Pow(b1, t)) * (b[i] + eps)));
            case "nadam":
                {
                    double muT = b1 * (1 - (0.5 * Math.Pow(0.96, t))), muNext = b1 * (1 - (0.5 * Math.Pow(0.96, t + 1)));
                    a[i] += (g - a[i]) * (1 - b1);
                    b[i] += ((g * g) - b[i]) * (1 - b2);
                    double mHat = (muNext * a[i] / (1 - (product * muNext))) + ((1 - muT) * g / (1 - product));
                    double vHat = b[i] / (1 - Math.Pow(b2, t));
                    return theta - (lr * mHat / (Math.Sqrt(vHat) + eps));
                }

            case "lion":
                {
                    double direction = Math.Sign((b1 * a[i]) + ((1 - b1) * g));
                    a[i] = (b2 * a[i]) + ((1 - b2) * g);
                    return theta - (lr * direction);
                }

            case "adadelta":
                {
                    double rho = b2;
                    a[i] = (rho * a[i]) + ((1 - rho) * g * g);
                    double delta = Math.Sqrt(b[i] + eps) * g / Math.Sqrt(a[i] + eps);
                    b[i] = (rho * b[i]) + ((1 - rho) * delta * delta);
                    return theta - (lr * delta);
                }

            case "ftrl":
                {
                    // n in a, z in b; P(x) = x^(-power).
                    double gPrime = g + (2 * shrinkage * theta);
                    double nNext = a[i] + (g * g);
                    b[i] += gPrime - ((Math.Pow(nNext, -power) - Math.Pow(a[i], -power)) / lr * theta);
                    a[i] = nNext;
                    return (Math.Clamp(b[i], -l1, l1) - b[i]) / ((Math.Pow(nNext, -power) / lr) + (2 * (l2 + (beta / (2 * lr)))));
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(rule), rule, "unknown rule");
        }
    }
}
