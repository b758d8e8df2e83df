namespace NeuralCore.Randomness;

/// <summary>
/// xoshiro128** (Blackman and Vigna), seeded through SplitMix64: a small, fast generator whose sequence NeuralCore
/// defines itself, so a seed gives the same initialization, masks and shuffles on every .NET version and machine.
/// </summary>
internal struct Xoshiro128
{
    private uint _s0, _s1, _s2, _s3;

    /// <summary>The generator's whole state, as two 64-bit words (to save and restore it).</summary>
    public (ulong Low, ulong High) State
    {
        readonly get => (((ulong)_s1 << 32) | _s0, ((ulong)_s3 << 32) | _s2);
        set
        {
            (_s0, _s1) = ((uint)value.Low, (uint)(value.Low >> 32));
            (_s2, _s3) = ((uint)value.High, (uint)(value.High >> 32));
            if ((_s0 | _s1 | _s2 | _s3) == 0)
            {
                throw new InvalidDataException("A xoshiro128** state of all zeros is invalid.");
            }
        }
    }

    public Xoshiro128(ulong seed)
    {
        ulong x = seed;
        ulong a = SplitMix(ref x), b = SplitMix(ref x);
        _s0 = (uint)a;
        _s1 = (uint)(a >> 32);
        _s2 = (uint)b;
        _s3 = (uint)(b >> 32);
        if ((_s0 | _s1 | _s2 | _s3) == 0)
        {
            _s0 = 1; // the all-zero state is a fixed point
        }
    }

    /// <summary>Derives an independent seed for stream <paramref name="index"/> of <paramref name="seed"/>.</summary>
    public static ulong Derive(ulong seed, ulong index)
    {
        ulong x = seed ^ (index * 0xD1B54A32D192ED03UL);
        return SplitMix(ref x);
    }

    public uint NextUInt32()
    {
        uint result = uint.RotateLeft(_s1 * 5, 7) * 9;
        uint t = _s1 << 9;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = uint.RotateLeft(_s3, 11);
        return result;
    }

    /// <summary>A float uniform in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt32() >> 8) * (1f / (1 << 24));

    /// <summary>
    /// A standard normal value: Box-Muller in double from two uniforms, the first taken as <c>1 - u</c> in (0, 1] so
    /// that its logarithm is finite; one value per pair, so the stream does not depend on where a batch ends.
    /// </summary>
    public double NextNormal()
    {
        double u1 = 1.0 - NextSingle(), u2 = NextSingle();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>An integer uniform in [0, bound), without modulo bias (Lemire's method).</summary>
    public int NextInt(int bound)
    {
        ulong product = (ulong)NextUInt32() * (uint)bound;
        uint low = (uint)product;
        if (low < (uint)bound)
        {
            uint threshold = (uint)-bound % (uint)bound;
            while (low < threshold)
            {
                product = (ulong)NextUInt32() * (uint)bound;
                low = (uint)product;
            }
        }

        return (int)(product >> 32);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
