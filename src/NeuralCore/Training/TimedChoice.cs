namespace NeuralCore.Training;

/// <summary>
/// A choice between two ways of running <c>Fit</c>'s steps that give the same bits and differ in time only, made by
/// timing them: rounds of three blocks of steps (the way chosen so far, the other, the chosen again, so that a drift
/// of the host's speed within a round weighs on both, and the way that lost the last round runs one block, not two),
/// a decision on the mean of each way's timed steps but the longest (which may hold a pause of the host's), then a
/// stretch of steps on the faster way, whose length the subclass sets (<see cref="NextStretch"/>), and again.
/// </summary>
internal abstract class TimedChoice
{
    /// <summary>Steps run one way, per block.</summary>
    internal const int Block = 8;

    /// <summary>Steps at the start of a block that are run but not timed: the first ones after a switch move the data
    /// between the cores' caches.</summary>
    internal const int Settle = 2;

    /// <summary>The stretch after the first decision (subclasses also fall back to it where the two ways differ by at most <see cref="SteadyGap"/>).</summary>
    internal const int FirstStretch = 200;

    /// <summary>The relative difference of the two times above which a stretch may grow.</summary>
    internal const double SteadyGap = 0.15;

    // The first round's decision is dropped: its steps are the training's first, which compile code and allocate the
    // threads' buffers.
    private enum Phase
    {
        TimeChosen,
        TimeOther,
        TimeChosenAgain,
        Run,
    }

    private const int Timed = Block - Settle;

    private readonly long[] _first = new long[2 * Timed];
    private readonly long[] _second = new long[2 * Timed];
    private int _firstCount;
    private int _secondCount;
    private Phase _phase;
    private int _steps;
    private int _rounds;
    private int _decisions;
    private int _stretch = FirstStretch;
    private bool _chooseSecond;

    /// <summary>Whether the last decision chose the second way (tests).</summary>
    internal bool ChoseSecond => _chooseSecond;

    /// <summary>The steps of the current stretch (tests).</summary>
    internal int Stretch => _stretch;

    /// <summary>The rounds decided, the dropped first one included, since the last start afresh (tests).</summary>
    internal int Rounds => _rounds;

    /// <summary>The decisions taken since the last start afresh (tests).</summary>
    internal int Decisions => _decisions;

    /// <summary>The times a step of the last round decided, the first way and the second (tests).</summary>
    internal (long First, long Second) LastTimes { get; private set; }

    /// <summary>Whether the choice is running a stretch on the way it chose, timing nothing.</summary>
    protected bool Running => _phase == Phase.Run;

    /// <summary>Starts the current round again (the decision so far kept), unless a stretch is running: its steps so far were timed before something else ran.</summary>
    protected void RestartRound()
    {
        if (_phase != Phase.Run)
        {
            (_phase, _steps, _firstCount, _secondCount) = (Phase.TimeChosen, 0, 0, 0);
        }
    }

    /// <summary>Back to a first round, dropped like the training's first: the steps to come are not the ones timed so far.</summary>
    protected void Reset()
    {
        (_phase, _steps, _rounds, _decisions, _stretch, _chooseSecond) = (Phase.TimeChosen, 0, 0, 0, FirstStretch, false);
        (_firstCount, _secondCount) = (0, 0);
    }

    /// <summary>
    /// Whether the next step runs the second way: a timed step of a round's middle block runs the way not chosen, every
    /// other step the chosen way. A step that is not <paramref name="timed"/> (a short last batch) does not count.
    /// </summary>
    protected bool Second(bool timed) => _phase == Phase.TimeOther && timed ? !_chooseSecond : _chooseSecond;

    /// <summary>Records the duration of a step run as <see cref="Second"/> said, in any unit; <paramref name="timed"/> as given there.</summary>
    protected void Record(long ticks, bool timed)
    {
        if (!timed)
        {
            return;
        }

        int step = _steps++;
        if (_phase == Phase.Run)
        {
            if (_steps >= _stretch)
            {
                (_steps, _phase) = (0, Phase.TimeChosen);
            }

            return;
        }

        if (step >= Settle)
        {
            bool second = _phase == Phase.TimeOther ? !_chooseSecond : _chooseSecond;
            if (second)
            {
                _second[_secondCount++] = ticks;
            }
            else
            {
                _first[_firstCount++] = ticks;
            }
        }

        if (_steps < Block)
        {
            return;
        }

        _steps = 0;
        if (_phase != Phase.TimeChosenAgain)
        {
            _phase++;
            return;
        }

        ReadOnlySpan<long> firstTimes = _first.AsSpan(0, _firstCount), secondTimes = _second.AsSpan(0, _secondCount);
        (_firstCount, _secondCount) = (0, 0);
        if (_rounds++ == 0)
        {
            // The training's first steps: measure again at once.
            _phase = Phase.TimeChosen;
            return;
        }

        LastTimes = (MeanButLongest(firstTimes), MeanButLongest(secondTimes));
        _chooseSecond = LastTimes.Second < LastTimes.First;
        double gap = (double)Math.Abs(LastTimes.First - LastTimes.Second) / Math.Max(1, Math.Min(LastTimes.First, LastTimes.Second));

        // The first decision may still be swayed by the runtime compiling in the background on one of the cores: it
        // holds for the shortest stretch whatever the gap.
        _stretch = _decisions++ == 0 ? FirstStretch : NextStretch(_chooseSecond, gap, _stretch);
        _phase = Phase.Run;
    }

    /// <summary>
    /// The stretch after a decision other than the first, for the way chosen (<paramref name="second"/>), the relative
    /// difference of the two times (<paramref name="gap"/>) and the last stretch.
    /// </summary>
    protected abstract int NextStretch(bool second, double gap, int stretch);

    // The mean of the values but the largest. Not the median: a host that runs another task on one of the two vCPUs for
    // a few milliseconds at a time (a busy loop pinned to one, 784-1024-10 at batch 128, AMD EPYC Zen 5) slows every
    // other two-thread step or so, and the median of a block missed that in one of three trainings.
    private static long MeanButLongest(ReadOnlySpan<long> values)
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
