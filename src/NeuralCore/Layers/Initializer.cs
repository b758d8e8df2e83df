using System.Globalization;
using NeuralCore.Randomness;

namespace NeuralCore.Layers;

/// <summary>The rule an <see cref="Initializer"/> draws or sets values by.</summary>
public enum InitializerKind
{
    /// <summary>
    /// Keras's <c>VarianceScaling</c> (and its presets Glorot, He and LeCun): values of variance
    /// <c>Scale / n</c>, n the fan of <see cref="Initializer.Mode"/>, drawn from <see cref="Initializer.Distribution"/>.
    /// </summary>
    VarianceScaling,

    /// <summary>Keras's <c>RandomUniform</c>: uniform in <c>[MinValue, MaxValue)</c>.</summary>
    RandomUniform,

    /// <summary>Keras's <c>RandomNormal</c>: normal with <see cref="Initializer.Mean"/> and <see cref="Initializer.StdDev"/>.</summary>
    RandomNormal,

    /// <summary>Keras's <c>TruncatedNormal</c>: normal with <see cref="Initializer.Mean"/> and <see cref="Initializer.StdDev"/>, redrawn beyond two standard deviations.</summary>
    TruncatedNormal,

    /// <summary>Keras's <c>Constant</c> (and <c>Zeros</c>, <c>Ones</c>): every value <see cref="Initializer.Value"/>.</summary>
    Constant,

    /// <summary>Keras's <c>Identity</c>: <see cref="Initializer.Scale"/> (the gain) on the main diagonal of a kernel, 0 elsewhere.</summary>
    Identity,

    /// <summary>
    /// Keras's <c>Orthogonal</c>: <see cref="Initializer.Scale"/> (the gain) times a kernel with orthonormal columns
    /// (or rows, when it has fewer rows than columns), the Q of a random normal matrix's QR decomposition.
    /// </summary>
    Orthogonal,
}

/// <summary>Which fan a <see cref="InitializerKind.VarianceScaling"/> initializer divides its scale by.</summary>
public enum FanMode
{
    /// <summary>The kernel's inputs (Keras's <c>fan_in</c>).</summary>
    FanIn,

    /// <summary>The kernel's units (Keras's <c>fan_out</c>).</summary>
    FanOut,

    /// <summary>The mean of the two (Keras's <c>fan_avg</c>).</summary>
    FanAvg,
}

/// <summary>The distribution a <see cref="InitializerKind.VarianceScaling"/> initializer draws from.</summary>
public enum InitializerDistribution
{
    /// <summary>Uniform in <c>[-limit, limit)</c>, <c>limit = √(3·scale/n)</c>.</summary>
    Uniform,

    /// <summary>
    /// A normal redrawn beyond two standard deviations, with the standard deviation <c>√(scale/n) / 0.87962566103423978</c>
    /// so that the truncated values keep the variance <c>scale/n</c> (Keras's <c>truncated_normal</c>, and its <c>normal</c>).
    /// </summary>
    TruncatedNormal,

    /// <summary>A normal with standard deviation <c>√(scale/n)</c> (Keras's <c>untruncated_normal</c>).</summary>
    UntruncatedNormal,
}

/// <summary>
/// How a <see cref="Dense"/> layer's kernel or bias starts (Keras's <c>keras.initializers</c>, given as
/// <see cref="Dense.KernelInitializer"/> and <see cref="Dense.BiasInitializer"/>). For a kernel <c>W[inputs, units]</c>
/// fan-in is <c>inputs</c> and fan-out <c>units</c>; for a bias both are <c>units</c> (Keras's <c>compute_fans</c> for
/// one axis). Presets: <see cref="GlorotUniform"/> (the kernel's default, limit <c>√(6/(in + out))</c>),
/// <see cref="GlorotNormal"/>, <see cref="HeUniform"/> and <see cref="HeNormal"/> (for ReLU layers, variance
/// <c>2/in</c>), <see cref="LecunUniform"/> and <see cref="LecunNormal"/> (for SELU's self-normalizing networks,
/// variance <c>1/in</c>); <see cref="Zeros"/> is the bias's default; <see cref="Identity"/> and <see cref="Orthogonal"/>
/// are for kernels only. Immutable.
/// </summary>
/// <remarks>
/// Values come from the layer's seed through NeuralCore's own generator (xoshiro128**, normals by Box-Muller in double),
/// so a seed gives the same weights on every machine and thread count; they follow Keras's distributions, not its
/// random streams. A kernel's values are drawn row by row (input by input) from the layer's seed, a bias's from a
/// stream derived from it, so changing the bias's initializer leaves the kernel as it was.
/// </remarks>
public sealed class Initializer
{
    // Keras's: the standard deviation of a standard normal truncated to [-2, 2].
    private const double TruncatedStdDev = 0.87962566103423978;

    private Initializer(InitializerKind kind, float scale = 0f, FanMode mode = FanMode.FanIn, InitializerDistribution distribution = InitializerDistribution.Uniform,
        float mean = 0f, float stdDev = 0f, float minValue = 0f, float maxValue = 0f, float value = 0f)
    {
        (Kind, Scale, Mode, Distribution, Mean, StdDev, MinValue, MaxValue, Value) = (kind, scale, mode, distribution, mean, stdDev, minValue, maxValue, value);
    }

    /// <summary>The rule.</summary>
    public InitializerKind Kind { get; }

    /// <summary>VarianceScaling's scale, or Identity's and Orthogonal's gain (0 for the others).</summary>
    public float Scale { get; }

    /// <summary>VarianceScaling's fan.</summary>
    public FanMode Mode { get; }

    /// <summary>VarianceScaling's distribution.</summary>
    public InitializerDistribution Distribution { get; }

    /// <summary>RandomNormal's and TruncatedNormal's mean (0 for the others).</summary>
    public float Mean { get; }

    /// <summary>RandomNormal's and TruncatedNormal's standard deviation (0 for the others).</summary>
    public float StdDev { get; }

    /// <summary>RandomUniform's lower bound (0 for the others).</summary>
    public float MinValue { get; }

    /// <summary>RandomUniform's upper bound (0 for the others).</summary>
    public float MaxValue { get; }

    /// <summary>Constant's value (0 for the others).</summary>
    public float Value { get; }

    /// <summary>
    /// Keras's <c>VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal")</c>: variance <c>scale/n</c>.
    /// </summary>
    /// <param name="scale">The variance's numerator; positive and finite.</param>
    /// <param name="mode">The fan n.</param>
    /// <param name="distribution">The distribution.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is not positive and finite, or an enum value is undefined.</exception>
    public static Initializer VarianceScaling(float scale = 1f, FanMode mode = FanMode.FanIn, InitializerDistribution distribution = InitializerDistribution.TruncatedNormal)
    {
        Check.Positive(scale, nameof(scale));
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "The mode must be FanIn, FanOut or FanAvg.");
        }

        if (!Enum.IsDefined(distribution))
        {
            throw new ArgumentOutOfRangeException(nameof(distribution), distribution, "The distribution must be Uniform, TruncatedNormal or UntruncatedNormal.");
        }

        return new Initializer(InitializerKind.VarianceScaling, scale, mode, distribution);
    }

    /// <summary>Keras's <c>GlorotUniform</c> (Xavier): uniform within <c>±√(6/(in + out))</c>; a kernel's default.</summary>
    /// <returns>The initializer.</returns>
    public static Initializer GlorotUniform() => VarianceScaling(1f, FanMode.FanAvg, InitializerDistribution.Uniform);

    /// <summary>Keras's <c>GlorotNormal</c>: truncated normal of variance <c>2/(in + out)</c>.</summary>
    /// <returns>The initializer.</returns>
    public static Initializer GlorotNormal() => VarianceScaling(1f, FanMode.FanAvg, InitializerDistribution.TruncatedNormal);

    /// <summary>Keras's <c>HeUniform</c>: uniform within <c>±√(6/in)</c>.</summary>
    /// <returns>The initializer.</returns>
    public static Initializer HeUniform() => VarianceScaling(2f, FanMode.FanIn, InitializerDistribution.Uniform);

    /// <summary>Keras's <c>HeNormal</c> (Kaiming): truncated normal of variance <c>2/in</c>, for layers followed by a ReLU.</summary>
    /// <returns>The initializer.</returns>
    public static Initializer HeNormal() => VarianceScaling(2f, FanMode.FanIn, InitializerDistribution.TruncatedNormal);

    /// <summary>Keras's <c>LecunUniform</c>: uniform within <c>±√(3/in)</c>.</summary>
    /// <returns>The initializer.</returns>
    public static Initializer LecunUniform() => VarianceScaling(1f, FanMode.FanIn, InitializerDistribution.Uniform);

    /// <summary>Keras's <c>LecunNormal</c>: truncated normal of variance <c>1/in</c>, what SELU's self-normalizing networks need.</summary>
    /// <returns>The initializer.</returns>
    public static Initializer LecunNormal() => VarianceScaling(1f, FanMode.FanIn, InitializerDistribution.TruncatedNormal);

    /// <summary>Keras's <c>RandomUniform(minval=-0.05, maxval=0.05)</c>: <c>min + (max - min)·u</c>, u uniform in [0, 1).</summary>
    /// <param name="minValue">The lower bound; finite.</param>
    /// <param name="maxValue">The upper bound; finite, at least <paramref name="minValue"/>.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not finite, or <paramref name="maxValue"/> is below <paramref name="minValue"/>.</exception>
    public static Initializer RandomUniform(float minValue = -0.05f, float maxValue = 0.05f)
    {
        Check.Finite(minValue, nameof(minValue));
        Check.Finite(maxValue, nameof(maxValue));
        if (maxValue < minValue || !float.IsFinite(maxValue - minValue))
        {
            throw new ArgumentOutOfRangeException(nameof(maxValue), maxValue,
                string.Create(CultureInfo.InvariantCulture, $"Expected maxValue at least minValue and within float's range of it. Received: minValue={minValue}, maxValue={maxValue}."));
        }

        return new Initializer(InitializerKind.RandomUniform, minValue: minValue, maxValue: maxValue);
    }

    /// <summary>Keras's <c>RandomNormal(mean=0.0, stddev=0.05)</c>.</summary>
    /// <param name="mean">The mean; finite.</param>
    /// <param name="stdDev">The standard deviation; non-negative and finite.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The mean is not finite, or the standard deviation is negative or not finite, or so large that <c>|mean| + 5.77·stdDev</c> (the largest normal drawn) is beyond float's range.</exception>
    public static Initializer RandomNormal(float mean = 0f, float stdDev = 0.05f) =>
        new(InitializerKind.RandomNormal, mean: CheckMean(mean), stdDev: CheckStdDev(stdDev, mean, MaxNormal));

    /// <summary>Keras's <c>TruncatedNormal(mean=0.0, stddev=0.05)</c>: a normal redrawn beyond two standard deviations of the mean.</summary>
    /// <param name="mean">The mean; finite.</param>
    /// <param name="stdDev">The standard deviation before truncation; non-negative and finite.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The mean is not finite, or the standard deviation is negative or not finite, or so large that <c>|mean| + 2·stdDev</c> is beyond float's range.</exception>
    public static Initializer TruncatedNormal(float mean = 0f, float stdDev = 0.05f) =>
        new(InitializerKind.TruncatedNormal, mean: CheckMean(mean), stdDev: CheckStdDev(stdDev, mean, 2.0));

    /// <summary>Keras's <c>Constant(value)</c>.</summary>
    /// <param name="value">Every value; finite.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not finite.</exception>
    public static Initializer Constant(float value)
    {
        Check.Finite(value, nameof(value));
        return new Initializer(InitializerKind.Constant, value: value);
    }

    /// <summary>Keras's <c>Zeros</c>: a bias's default.</summary>
    /// <returns>The initializer.</returns>
    public static Initializer Zeros() => Constant(0f);

    /// <summary>Keras's <c>Ones</c>.</summary>
    /// <returns>The initializer.</returns>
    public static Initializer Ones() => Constant(1f);

    /// <summary>
    /// Keras's <c>Identity(gain=1.0)</c>: <paramref name="gain"/> where the input index equals the unit index, 0
    /// elsewhere (also for a kernel that is not square); kernels only.
    /// </summary>
    /// <param name="gain">The diagonal's value; finite.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gain"/> is not finite.</exception>
    public static Initializer Identity(float gain = 1f)
    {
        Check.Finite(gain, nameof(gain));
        return new Initializer(InitializerKind.Identity, scale: gain);
    }

    /// <summary>
    /// Keras's <c>Orthogonal(gain=1.0)</c> (Saxe et al. 2014), for kernels: a <c>[rows, columns]</c> kernel with rows ≥
    /// columns gets orthonormal columns, one with fewer rows orthonormal rows, times <paramref name="gain"/>: the Q of the
    /// QR decomposition of a standard normal matrix of <c>max × min</c> of the two, the signs making R's diagonal
    /// positive, as Keras makes them.
    /// </summary>
    /// <param name="gain">The factor; finite.</param>
    /// <returns>The initializer.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gain"/> is not finite.</exception>
    /// <remarks>
    /// The decomposition takes about <c>2·max·min²</c> multiply-adds in double (Gram-Schmidt, each column
    /// orthogonalized twice) on one thread: 784 x 1024 took 0.33-0.37 s, 1024 x 1024 0.33 s, 2048 x 2048 2.8 s and
    /// 8192 x 1024 3.6 s (AMD EPYC Zen 4, 2 real cores, one used). A kernel beyond <see cref="MaxOrthogonalWork"/> is refused when the layer
    /// is built, rather than left computing for minutes (4096 x 4096 took 26 s).
    /// </remarks>
    public static Initializer Orthogonal(float gain = 1f)
    {
        Check.Finite(gain, nameof(gain));
        return new Initializer(InitializerKind.Orthogonal, scale: gain);
    }

    /// <summary>The largest <c>max(rows, columns)·min(rows, columns)²</c> an <see cref="Orthogonal"/> kernel may have: 2^33 (2,048 square, or 8,192 x 1,024).</summary>
    public const long MaxOrthogonalWork = 1L << 33;

    private static float CheckMean(float mean)
    {
        Check.Finite(mean, nameof(mean));
        return mean;
    }

    // The largest |z| Normals draws: √(-2·ln 2⁻²⁴) = 5.768, the smallest 1 - u being 2⁻²⁴.
    private const double MaxNormal = 5.77;

    private static float CheckStdDev(float stdDev, float mean, double maxZ)
    {
        Check.NonNegative(stdDev, nameof(stdDev), "standard deviation");

        // Values beyond float's range would start the layer at ±infinity (and its first step at NaN).
        if (Math.Abs((double)mean) + (maxZ * stdDev) > float.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(stdDev), stdDev, string.Create(CultureInfo.InvariantCulture,
                $"Expected a standard deviation whose values, up to {maxZ:G3} of them from the mean {mean}, stay within float's range. Received: stdDev={stdDev}."));
        }

        return stdDev;
    }

    /// <summary>
    /// Fills <paramref name="values"/>, a <c>[rows, columns]</c> kernel (fans <paramref name="rows"/> and
    /// <paramref name="columns"/>) or, with <paramref name="rows"/> = 1, a bias of <paramref name="columns"/> (fans
    /// both <paramref name="columns"/>), from <paramref name="random"/>.
    /// </summary>
    internal void Fill(Span<float> values, int rows, int columns, ref Xoshiro128 random, bool bias)
    {
        float fanIn = bias ? columns : rows, fanOut = columns;
        switch (Kind)
        {
            case InitializerKind.Constant:
                values.Fill(Value);
                return;
            case InitializerKind.Identity:
                values.Clear();
                for (int i = 0; i < Math.Min(rows, columns); i++)
                {
                    values[(i * columns) + i] = Scale;
                }

                return;
            case InitializerKind.RandomUniform:
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = MinValue + ((MaxValue - MinValue) * random.NextSingle());
                }

                return;
            case InitializerKind.RandomNormal or InitializerKind.TruncatedNormal:
                Normals(values, Mean, StdDev, Kind == InitializerKind.TruncatedNormal, ref random);
                return;
            case InitializerKind.Orthogonal:
                OrthogonalFill(values, rows, columns, Scale, ref random);
                return;
        }

        // VarianceScaling: the fan at least 1, as Keras's max(1.0, n).
        float fan = Math.Max(1f, Mode switch
        {
            FanMode.FanIn => fanIn,
            FanMode.FanOut => fanOut,
            _ => (fanIn + fanOut) / 2f,
        });
        if (Distribution == InitializerDistribution.Uniform)
        {
            // (3·scale)/n in float: for Glorot's scale of 1 this is 6/(in + out) to the bit (n/2 is exact), the
            // limit the layer always drew its default kernel with, so that seeds give the weights they always gave.
            // In double where that is not a normal float: 3·scale beyond float's range (scale above 1.1e38), or
            // 3·scale/n below its normal range (a subnormal's few digits, or 0 for a scale near 1e-44); the limit
            // itself is a normal float either way.
            float limitSquared = 3f * Scale / fan;
            float limit = float.IsNormal(limitSquared) ? MathF.Sqrt(limitSquared) : (float)Math.Sqrt(3.0 * Scale / fan);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = ((2f * random.NextSingle()) - 1f) * limit;
            }

            return;
        }

        double stdDev = Math.Sqrt((double)Scale / fan);
        bool truncated = Distribution == InitializerDistribution.TruncatedNormal;
        Normals(values, 0f, truncated ? stdDev / TruncatedStdDev : stdDev, truncated, ref random);
    }

    // Q of the QR decomposition of a tall normal matrix A (m x n, m ≥ n), by Gram-Schmidt with every column
    // orthogonalized twice against the ones before it ("twice is enough": orthogonal to double's precision), which gives
    // R's diagonal (the norms) positive: Keras's Q·sign(diag(R)). A is drawn in its row-major order [m, n] and kept by
    // columns, each contiguous for the dot products.
    private static void OrthogonalFill(Span<float> values, int rows, int columns, float gain, ref Xoshiro128 random)
    {
        CheckOrthogonal(rows, columns);
        int m = Math.Max(rows, columns), n = Math.Min(rows, columns);
        double[] q = new double[(long)m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                q[((long)j * m) + i] = random.NextNormal();
            }
        }

        // In blocks of columns that stay in the L2 cache while each earlier column streams past them once per pass:
        // column by column, the earlier columns were read from memory for every new one (4,096 x 4,096 took 56 s).
        const int Block = 32;
        for (int j0 = 0; j0 < n; j0 += Block)
        {
            int j1 = Math.Min(n, j0 + Block);
            for (int pass = 0; pass < 2; pass++)
            {
                for (int k = 0; k < j0; k++)
                {
                    ReadOnlySpan<double> earlier = q.AsSpan(k * m, m);
                    for (int j = j0; j < j1; j++)
                    {
                        Project(earlier, q.AsSpan(j * m, m));
                    }
                }
            }

            for (int j = j0; j < j1; j++)
            {
                Span<double> column = q.AsSpan(j * m, m);
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int k = j0; k < j; k++)
                    {
                        Project(q.AsSpan(k * m, m), column);
                    }
                }

                double norm = System.Numerics.Tensors.TensorPrimitives.Norm(column);
                // A normal matrix is of full rank with probability 1; a column lost to rounding would be a flaw of the generator.
                System.Numerics.Tensors.TensorPrimitives.Multiply(column, norm > 0 ? 1.0 / norm : 0.0, column);
            }
        }

        // Q is m x n with orthonormal columns: the kernel itself when it has at least as many rows, its transpose otherwise.
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                double value = rows >= columns ? q[((long)c * m) + r] : q[((long)r * m) + c];
                values[(r * columns) + c] = (float)(gain * value);
            }
        }
    }

    /// <summary>
    /// Refuses an <see cref="InitializerKind.Orthogonal"/> <c>[rows, columns]</c> kernel too large to decompose soon or in
    /// memory (nothing for the other kinds): called by <see cref="Dense"/> before it allocates, so that a refused layer is
    /// left unbuilt and can be given another initializer.
    /// </summary>
    /// <exception cref="InvalidOperationException">The decomposition's work is beyond <see cref="MaxOrthogonalWork"/>.</exception>
    /// <exception cref="InsufficientMemoryException">Its matrix is beyond the memory this process may use.</exception>
    internal void CheckKernel(int rows, int columns)
    {
        if (Kind == InitializerKind.Orthogonal)
        {
            CheckOrthogonal(rows, columns);
        }
    }

    private static void CheckOrthogonal(int rows, int columns)
    {
        int m = Math.Max(rows, columns), n = Math.Min(rows, columns);
        if ((double)m * n * n > MaxOrthogonalWork)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"An orthogonal {rows} x {columns} kernel takes about {2.0 * m * n * n:G3} multiply-adds to decompose, beyond the {2.0 * MaxOrthogonalWork:G3} allowed (seconds to minutes on one thread): use a variance-scaling initializer (Initializer.GlorotUniform or HeNormal) for a kernel this size."));
        }

        Check.FitsInMemory(8m * m * n, string.Create(CultureInfo.InvariantCulture, $"An orthogonal {rows} x {columns} kernel's decomposition"), "use a variance-scaling initializer");
    }

    // column -= (unit·column)·unit: the column's component along a unit vector removed.
    private static void Project(ReadOnlySpan<double> unit, Span<double> column)
    {
        double dot = System.Numerics.Tensors.TensorPrimitives.Dot(unit, column);
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(unit, -dot, column, column);
    }

    // Normals (Xoshiro128.NextNormal); truncated ones redrawn until within two standard deviations, as TensorFlow's and
    // JAX's truncated_normal.
    private static void Normals(Span<float> values, float mean, double stdDev, bool truncated, ref Xoshiro128 random)
    {
        for (int i = 0; i < values.Length; i++)
        {
            double z;
            do
            {
                z = random.NextNormal();
            }
            while (truncated && Math.Abs(z) > 2.0);

            values[i] = (float)(mean + (stdDev * z));
        }
    }

    /// <summary>The initializer's entries in a layer config, under <paramref name="prefix"/> (<c>kernel</c>, <c>bias</c>).</summary>
    internal void Write(Configuration.ComponentConfig config, string prefix)
    {
        string key = prefix + "_initializer";
        config.Set(key, Name(Kind));
        switch (Kind)
        {
            case InitializerKind.VarianceScaling:
                config.Set(key + "_scale", Scale).Set(key + "_mode", ModeName(Mode)).Set(key + "_distribution", DistributionName(Distribution));
                break;
            case InitializerKind.RandomUniform:
                config.Set(key + "_minval", MinValue).Set(key + "_maxval", MaxValue);
                break;
            case InitializerKind.RandomNormal or InitializerKind.TruncatedNormal:
                config.Set(key + "_mean", Mean).Set(key + "_stddev", StdDev);
                break;
            case InitializerKind.Constant:
                config.Set(key + "_value", Value);
                break;
            default:
                config.Set(key + "_gain", Scale);
                break;
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote, or <paramref name="fallback"/> where the config has no initializer under <paramref name="prefix"/>.</summary>
    /// <exception cref="InvalidDataException">The kind, mode or distribution is unknown, an entry is missing, or a value is out of range (the entry named).</exception>
    internal static Initializer Read(Configuration.ComponentConfig config, string prefix, Initializer fallback)
    {
        string key = prefix + "_initializer";
        if (!config.Entries.Any(e => e.Key == key))
        {
            return fallback;
        }

        string kind = config.GetString(key);
        try
        {
            return kind switch
            {
                "variance_scaling" => VarianceScaling(config.GetSingle(key + "_scale"), ParseMode(config.GetString(key + "_mode"), key),
                    ParseDistribution(config.GetString(key + "_distribution"), key)),
                "random_uniform" => RandomUniform(config.GetSingle(key + "_minval"), config.GetSingle(key + "_maxval")),
                "random_normal" => RandomNormal(config.GetSingle(key + "_mean"), config.GetSingle(key + "_stddev")),
                "truncated_normal" => TruncatedNormal(config.GetSingle(key + "_mean"), config.GetSingle(key + "_stddev")),
                "constant" => Constant(config.GetSingle(key + "_value")),
                "identity" when prefix != "bias" => Identity(config.GetSingle(key + "_gain")),
                "orthogonal" when prefix != "bias" => Orthogonal(config.GetSingle(key + "_gain")),
                _ => throw new InvalidDataException($"{key} is '{kind}'; expected variance_scaling, random_uniform, random_normal, truncated_normal, constant{(prefix == "bias" ? "" : ", identity or orthogonal")}."),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            string entry = e.ParamName switch
            {
                "minValue" => "minval",
                "maxValue" => "maxval",
                "stdDev" => "stddev",
                "gain" => "gain",
                _ => e.ParamName ?? "value",
            };
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{key}_{entry} ({kind}) is {e.ActualValue}: {e.Message.Split('\n')[0].TrimEnd('\r').Split(" (Parameter")[0]}"), e);
        }
    }

    private static FanMode ParseMode(string mode, string key) => mode switch
    {
        "fan_in" => FanMode.FanIn,
        "fan_out" => FanMode.FanOut,
        "fan_avg" => FanMode.FanAvg,
        _ => throw new InvalidDataException($"{key}_mode is '{mode}'; expected fan_in, fan_out or fan_avg."),
    };

    private static InitializerDistribution ParseDistribution(string distribution, string key) => distribution switch
    {
        "uniform" => InitializerDistribution.Uniform,
        "truncated_normal" or "normal" => InitializerDistribution.TruncatedNormal,
        "untruncated_normal" => InitializerDistribution.UntruncatedNormal,
        _ => throw new InvalidDataException($"{key}_distribution is '{distribution}'; expected uniform, truncated_normal or untruncated_normal."),
    };

    private static string Name(InitializerKind kind) => kind switch
    {
        InitializerKind.VarianceScaling => "variance_scaling",
        InitializerKind.RandomUniform => "random_uniform",
        InitializerKind.RandomNormal => "random_normal",
        InitializerKind.TruncatedNormal => "truncated_normal",
        InitializerKind.Constant => "constant",
        InitializerKind.Identity => "identity",
        _ => "orthogonal",
    };

    private static string ModeName(FanMode mode) => mode switch
    {
        FanMode.FanIn => "fan_in",
        FanMode.FanOut => "fan_out",
        _ => "fan_avg",
    };

    private static string DistributionName(InitializerDistribution distribution) => distribution switch
    {
        InitializerDistribution.Uniform => "uniform",
        InitializerDistribution.TruncatedNormal => "truncated_normal",
        _ => "untruncated_normal",
    };

    /// <summary>Whether this is the kernel's default, <see cref="GlorotUniform"/>.</summary>
    internal bool IsGlorotUniform => Kind == InitializerKind.VarianceScaling && Scale == 1f && Mode == FanMode.FanAvg && Distribution == InitializerDistribution.Uniform;

    /// <summary>Whether this is the bias's default, <see cref="Zeros"/>.</summary>
    internal bool IsZeros => Kind == InitializerKind.Constant && Value == 0f && !float.IsNegative(Value);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        InitializerKind.VarianceScaling when IsGlorotUniform => "GlorotUniform()",
        InitializerKind.VarianceScaling => string.Create(CultureInfo.InvariantCulture, $"VarianceScaling({Scale}, {ModeName(Mode)}, {DistributionName(Distribution)})"),
        InitializerKind.RandomUniform => string.Create(CultureInfo.InvariantCulture, $"RandomUniform({MinValue}, {MaxValue})"),
        InitializerKind.RandomNormal => string.Create(CultureInfo.InvariantCulture, $"RandomNormal({Mean}, {StdDev})"),
        InitializerKind.TruncatedNormal => string.Create(CultureInfo.InvariantCulture, $"TruncatedNormal({Mean}, {StdDev})"),
        InitializerKind.Constant => string.Create(CultureInfo.InvariantCulture, $"Constant({Value})"),
        InitializerKind.Identity => string.Create(CultureInfo.InvariantCulture, $"Identity({Scale})"),
        _ => string.Create(CultureInfo.InvariantCulture, $"Orthogonal({Scale})"),
    };
}
