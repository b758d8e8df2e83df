using System.Diagnostics;

namespace NeuralCore.Threading;

/// <summary>
/// Divides a run of units (panels of a weight gradient's rows, rows of a batch) among the slices of a parallel region
/// in proportion to how fast each slice went through its units in the last runs, so that the threads finish together.
/// Only for work whose results do not depend on the division: each unit is computed the same way wherever it falls.
/// </summary>
/// <remarks>
/// <para>
/// Equal slices assume equal threads. Under a hypervisor they are not: on the two-core AMD EPYC Zen 5 with its vCPUs far
/// apart (430-490 ns round trip), one vCPU took 37-50% longer than the other for the same share of a step's products
/// and its batch gather, for minutes at a time, while the optimizer's update, which reads only what its own core wrote,
/// ran at the same speed on both (784-128-10, batch 128, two threads; items timed inside the step: the forward product
/// 43 against 59 µs, the weight gradient 43 against 64, the gather 12 against 18). Which vCPU was slower changed from
/// run to run, and at other times neither was. A batch of images adds its own imbalance: the weight gradient's rows of
/// the middle of the image cost more than those at its edges.
/// </para>
/// <para>
/// Each slice's rate (units per tick) is kept as a moving average over the runs (each run's reading moves it a quarter
/// of the way, and counts for at most 1.5 times it or 1/1.5 of it, so one run the host interrupted cannot swing the
/// division), and the next run's division gives each slice units in proportion to its rate, while the rates are far
/// enough apart (<see cref="Uneven"/>); otherwise the slices are equal. A division among another number of slices
/// starts equal again; one of another number of units (a batch's shorter last) keeps the rates. Used by one training
/// thread at a time (a model's step), so nothing here is shared.
/// </para>
/// </remarks>
internal sealed class ThreadBalance
{
    // How far one run's reading moves a slice's rate.
    private const double Smoothing = 0.25;

    // The most one run's reading counts for against a slice's rate, either way: a run in which the host took a vCPU
    // away for a while (a thousand times the item's time) leaves two equal rates 1.23 apart, below MinUnevenRatio.
    private const double MaxChange = 1.5;

    private double[] _rate;
    private long[] _ticks;
    private int[] _bounds;
    private int _units;
    private int _slices;
    private int _minimum;
    private bool _uneven;

    // The ratio of the fastest slice's rate to the slowest's from which the division follows the rates; below it the
    // slices stay equal. Moving units from one thread to another costs their data a trip between cores in the next
    // steps, which an imbalance of a few percent does not repay: at 784-128-10, batch 128, two threads with the vCPUs far
    // apart and as fast as each other, following the rates made the weight gradient 46.5 µs on both threads where equal
    // slices took 43.9 and 47.1 (their data is not spread evenly over the rows), and the gather 13.4 where they took
    // 12.4 and 12.7 (AMD EPYC Zen 5, 2 real cores).
    private const double MinUnevenRatio = 1.25;

    // Once uneven, the division follows the rates until they are this close, so that rates near MinUnevenRatio do not
    // switch it back and forth from step to step.
    private const double MinKeptRatio = 1.15;

    /// <summary>Creates a balance for up to <see cref="Environment.ProcessorCount"/> slices (more grow it once).</summary>
    public ThreadBalance()
    {
        int capacity = Math.Max(2, Environment.ProcessorCount);
        _rate = new double[capacity];
        _ticks = new long[capacity];
        _bounds = new int[capacity + 1];
    }

    /// <summary>
    /// A test's division of every balance's units, the first slice's share of them (the rest divided equally): results
    /// must not change with it. 0 (the default) divides by the measured rates. Per calling thread.
    /// </summary>
    [ThreadStatic]
    internal static double ForcedFirstShare;

    /// <summary>The slices of the last <see cref="Divide"/>.</summary>
    public int Slices => _slices;

    /// <summary>Whether the last <see cref="Divide"/> followed the rates (or a forced share) rather than dividing equally.</summary>
    public bool Uneven => _uneven;

    /// <summary>The units of the last <see cref="Divide"/>.</summary>
    public int Units => _units;

    /// <summary>
    /// Divides <paramref name="units"/> units among <paramref name="slices"/> slices, each of at least
    /// <paramref name="minimum"/> units (lowered to what fits), for the run about to start; <see cref="Slice"/> then
    /// gives each slice's units until the next call.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slices"/> is below 1 or above <paramref name="units"/>.</exception>
    public void Divide(int units, int slices, int minimum = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slices, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slices, units);
        if (slices > _rate.Length)
        {
            // A pool wider than the processors (DegreeOfParallelism set above them): grown once.
            _rate = new double[slices];
            _ticks = new long[slices];
            _bounds = new int[slices + 1];
        }

        if (slices != _slices)
        {
            _slices = slices;
            _rate.AsSpan(0, slices).Fill(1);
        }

        _units = units;

        _minimum = Math.Clamp(minimum, 1, units / slices);
        _ticks.AsSpan(0, slices).Clear();
        double forced = ForcedFirstShare;
        double total = 0, slowest = double.MaxValue, fastest = 0;
        for (int s = 0; s < slices; s++)
        {
            total += _rate[s];
            slowest = Math.Min(slowest, _rate[s]);
            fastest = Math.Max(fastest, _rate[s]);
        }

        _uneven = forced > 0 || fastest >= (_uneven ? MinKeptRatio : MinUnevenRatio) * slowest;

        _bounds[0] = 0;
        double cumulative = 0;
        for (int s = 0; s < slices - 1; s++)
        {
            cumulative += forced > 0 ? (s == 0 ? forced : (1 - forced) / (slices - 1))
                : _uneven ? _rate[s] / total
                : 1.0 / slices;
            int bound = (int)Math.Round(cumulative * units);

            // Every slice keeps its minimum, the ones after it too.
            _bounds[s + 1] = Math.Clamp(bound, _bounds[s] + _minimum, units - ((slices - 1 - s) * _minimum));
        }

        _bounds[slices] = units;
    }

    /// <summary>The units <c>[First, End)</c> of slice <paramref name="slice"/> in the last <see cref="Divide"/>.</summary>
    public (int First, int End) Slice(int slice) => (_bounds[slice], _bounds[slice + 1]);

    /// <summary>Whether the last <see cref="Divide"/> was of <paramref name="units"/> units among <paramref name="slices"/> slices.</summary>
    public bool Divides(int units, int slices) => units == _units && slices == _slices && slices > 0;

    /// <summary>The timestamp (<see cref="Stopwatch.GetTimestamp"/>) at which a slice's work starts.</summary>
    public static long Start() => Stopwatch.GetTimestamp();

    /// <summary>Notes that slice <paramref name="slice"/> finished the work it began at <paramref name="start"/> (<see cref="Start"/>); called on the slice's thread.</summary>
    public void Finish(int slice, long start) => _ticks[slice] = Math.Max(1, Stopwatch.GetTimestamp() - start);

    /// <summary>
    /// Moves each slice's rate toward what this run measured, after every slice finished (the region's end orders
    /// their <see cref="Finish"/> before this). A run in which some slice did not finish (an exception) changes nothing.
    /// </summary>
    public void Update()
    {
        for (int s = 0; s < _slices; s++)
        {
            if (_ticks[s] == 0)
            {
                return;
            }
        }

        // The run's rates, scaled as the kept ones are (summing to the slice count): only their ratios matter.
        double measuredTotal = 0;
        for (int s = 0; s < _slices; s++)
        {
            measuredTotal += (double)(_bounds[s + 1] - _bounds[s]) / _ticks[s];
        }

        for (int s = 0; s < _slices; s++)
        {
            double measured = (double)(_bounds[s + 1] - _bounds[s]) / _ticks[s] * _slices / measuredTotal;
            double rate = _rate[s];
            measured = Math.Clamp(measured, rate / MaxChange, rate * MaxChange);
            _rate[s] = rate + (Smoothing * (measured - rate));
        }

        // Summing to the slice count again, so that they never drift.
        double total = 0;
        for (int s = 0; s < _slices; s++)
        {
            total += _rate[s];
        }

        for (int s = 0; s < _slices; s++)
        {
            _rate[s] = _rate[s] * _slices / total;
        }
    }
}
