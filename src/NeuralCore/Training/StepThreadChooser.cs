namespace NeuralCore.Training;

/// <summary>
/// Chooses the threads of <c>Fit</c>'s steps by timing them: blocks of steps on the threads the step's size asks for
/// (<see cref="Models.Sequential.StepThreads"/>) and on one thread, then a stretch of steps on whichever took less
/// time a step (the mean of the timed steps but the longest, which may hold a pause of the host's), and again. A
/// step's results are the same bits on any number of threads, so the choice changes the time only.
/// </summary>
/// <remarks>
/// The size rule alone cannot know where the host puts the two vCPUs. On an AMD EPYC Zen 5 with 2 real cores, with the
/// vCPUs far apart (a cache line's round trip 400-460 ns against about 90 ns close), 784-128-10 at batch 32 trained
/// 0.93x as fast per epoch on two threads as on one, and at batch 128 0.95x (compare.md, run aj), where with the
/// vCPUs close two threads were 1.4-1.6x faster; and a host that slows one vCPU makes every two-thread step wait for
/// it (a busy loop pinned to one: 784-1024-10 at batch 128 took 1.09-1.14 s an epoch on two threads, 0.63-0.66 on
/// one). A block on the slower choice costs its extra time once per stretch; the stretch doubles while the two differ
/// by more than <see cref="SteadyGap"/> and is long from the start where they differ by <see cref="WideGap"/> or more,
/// so where two threads are far ahead (784-1024-10) one-thread blocks are a few tenths of a percent of the steps.
/// </remarks>
internal sealed class StepThreadChooser
{
    /// <summary>Steps run on a candidate, per block.</summary>
    internal const int Block = 8;

    /// <summary>Steps at the start of a block that are run but not timed: the first ones after a switch move the data
    /// between the cores' caches.</summary>
    internal const int Settle = 2;

    /// <summary>The stretch after a round where the two candidates differ by less than <see cref="SteadyGap"/>.</summary>
    internal const int FirstStretch = 200;

    /// <summary>The longest stretch on the threads the size asks for.</summary>
    internal const int MaxStretch = 3200;

    /// <summary>The longest stretch on one thread: a round misled by the host costs two-thread steps at most this many
    /// steps at up to half their speed, where a wrong stretch the other way costs what two threads lose, far less.</summary>
    internal const int MaxOneStretch = 800;

    /// <summary>The relative difference of the two times above which the stretch doubles.</summary>
    internal const double SteadyGap = 0.15;

    /// <summary>The relative difference at or above which the stretch is as long as it goes at once.</summary>
    internal const double WideGap = 0.5;

    // A round: a block on all the threads, a block on one, a block on all again (so that a drift of the host's speed
    // within a round weighs on both sides), then the decision. The first round's decision is dropped: its steps are
    // the training's first, which compile code and allocate the threads' buffers.
    private enum Phase
    {
        TimeAll,
        TimeOne,
        TimeAllAgain,
        Run,
    }

    private const int Timed = Block - Settle;

    private readonly long[] _all = new long[2 * Timed];
    private readonly long[] _one = new long[Timed];
    private Phase _phase;
    private int _steps;
    private int _rounds;
    private int _stretch = FirstStretch;
    private bool _chooseOne;

    /// <summary>Whether the last decision chose one thread (tests).</summary>
    internal bool ChoseOne => _chooseOne;

    /// <summary>The steps of the current stretch (tests).</summary>
    internal int Stretch => _stretch;

    /// <summary>The rounds decided, the dropped first one included (tests).</summary>
    internal int Rounds => _rounds;

    /// <summary>The times a step of the last round decided, all threads and one (tests).</summary>
    internal (long All, long One) LastTimes { get; private set; }

    /// <summary>
    /// The threads for the next step, given <paramref name="all"/>, the threads its size asks for. A step that is not
    /// <paramref name="timed"/> (a short last batch) runs on the current choice and does not count.
    /// </summary>
    public int Threads(int all, bool timed)
    {
        if (all <= 1)
        {
            return 1;
        }

        bool one = _phase switch
        {
            Phase.TimeOne => timed || _chooseOne,
            Phase.Run => _chooseOne,
            _ => !timed && _chooseOne,
        };
        return one ? 1 : all;
    }

    /// <summary>
    /// Records the duration of a step run on <see cref="Threads"/>'s answer, in any unit; <paramref name="all"/> and
    /// <paramref name="timed"/> as given there.
    /// </summary>
    public void Record(long ticks, int all, bool timed)
    {
        if (all <= 1 || !timed)
        {
            return;
        }

        int step = _steps++;
        if (_phase == Phase.Run)
        {
            if (_steps >= _stretch)
            {
                (_steps, _phase) = (0, Phase.TimeAll);
            }

            return;
        }

        if (step >= Settle)
        {
            switch (_phase)
            {
                case Phase.TimeAll:
                    _all[step - Settle] = ticks;
                    break;
                case Phase.TimeOne:
                    _one[step - Settle] = ticks;
                    break;
                default:
                    _all[Timed + step - Settle] = ticks;
                    break;
            }
        }

        if (_steps < Block)
        {
            return;
        }

        _steps = 0;
        if (_phase != Phase.TimeAllAgain)
        {
            _phase++;
            return;
        }

        if (_rounds++ == 0)
        {
            // The training's first steps: measure again at once.
            _phase = Phase.TimeAll;
            return;
        }

        LastTimes = (MeanButLongest(_all), MeanButLongest(_one));
        Decide(LastTimes.All, LastTimes.One);
        _phase = Phase.Run;
    }

    private void Decide(long all, long one)
    {
        _chooseOne = one < all;
        double gap = (double)Math.Abs(all - one) / Math.Max(1, Math.Min(all, one));
        _stretch = gap >= WideGap ? MaxStretch : gap > SteadyGap ? Math.Min(_stretch * 2, MaxStretch) : FirstStretch;
        if (_chooseOne)
        {
            _stretch = Math.Min(_stretch, MaxOneStretch);
        }
    }

    // The mean of the values but the largest. Not the median: a host that runs another task on one of the two vCPUs for
    // a few milliseconds at a time (a busy loop pinned to one, 784-1024-10 at batch 128, AMD EPYC Zen 5) slows every
    // other two-thread step or so, and the median of a block missed that in one of three trainings.
    private static long MeanButLongest(long[] values)
    {
        long sum = 0, longest = long.MinValue;
        foreach (long v in values)
        {
            sum += v;
            longest = Math.Max(longest, v);
        }

        return (sum - longest) / (values.Length - 1);
    }
}
