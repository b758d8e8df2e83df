using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Kernels;

/// <summary>
/// A vector of float lanes of one width, so that an element-wise operator is written once and runs at every width:
/// <see cref="Lanes512"/>, <see cref="Lanes256"/>, <see cref="Lanes128"/>, and <see cref="Lane1"/>, the scalar form
/// the drivers use for tails. Every member is a plain IEEE operation per lane (no fused multiply-add), so an operator
/// gives bit-identical results at every width, and a tail element gets exactly what a vector lane would.
/// </summary>
/// <typeparam name="TSelf">The implementing struct.</typeparam>
internal interface ILanes<TSelf>
    where TSelf : struct, ILanes<TSelf>
{
    /// <summary>The number of floats in one vector.</summary>
    static abstract nuint Count { get; }

    /// <summary>A vector with every lane set to <paramref name="value"/>.</summary>
    static abstract TSelf Create(float value);

    /// <summary>Loads <see cref="Count"/> floats from <c>source[index..]</c>.</summary>
    static abstract TSelf Load(ref float source, nuint index);

    /// <summary>Stores the lanes to <c>destination[index..]</c>.</summary>
    static abstract void Store(TSelf value, ref float destination, nuint index);

    static abstract TSelf operator +(TSelf x, TSelf y);

    static abstract TSelf operator -(TSelf x, TSelf y);

    static abstract TSelf operator *(TSelf x, TSelf y);

    static abstract TSelf operator /(TSelf x, TSelf y);

    /// <summary>The correctly rounded square root of each lane.</summary>
    static abstract TSelf Sqrt(TSelf x);

    /// <summary>The absolute value of each lane.</summary>
    static abstract TSelf Abs(TSelf x);

    /// <summary>The larger of each pair of lanes, as <see cref="MathF.Max"/> (IEEE 754 maximum: NaN propagates, +0 &gt; -0).</summary>
    static abstract TSelf Max(TSelf x, TSelf y);

    /// <summary>The smaller of each pair of lanes, as <see cref="MathF.Min"/> (IEEE 754 minimum: NaN propagates, -0 &lt; +0).</summary>
    static abstract TSelf Min(TSelf x, TSelf y);

    /// <summary>
    /// <c>x &lt; limit ? 0 : value</c> per lane: a NaN x compares false and keeps its value (a NaN moment stays NaN,
    /// as in PyTorch and Keras, instead of being flushed to 0).
    /// </summary>
    static abstract TSelf FlushBelow(TSelf x, TSelf limit, TSelf value);

    /// <summary><c>x &gt; 0 ? value : 0</c> per lane (NaN compares false).</summary>
    static abstract TSelf WherePositive(TSelf x, TSelf value);

    /// <summary><c>x &lt; 0 ? ifNegative : otherwise</c> per lane (NaN and -0 compare false).</summary>
    static abstract TSelf WhereNegative(TSelf x, TSelf ifNegative, TSelf otherwise);

    /// <summary>
    /// <c>sums[k] += (double)x[k]·x[k]</c> for each lane k, in double: the running sums of squares a reduction keeps one
    /// per lane position, so that the same element always lands in the same sum whatever the width.
    /// </summary>
    static abstract void AddSquares(TSelf x, ref double sums);

    /// <summary>
    /// The sign of each lane: 1 above 0, -1 below, and x itself otherwise (±0 keeps its sign, NaN stays NaN). NumPy's
    /// <c>sign</c> gives +0 for -0, which changes no update (<c>θ - lr·(±0)</c> is θ).
    /// </summary>
    static abstract TSelf Sign(TSelf x);
}

/// <summary>512-bit lanes (AVX-512F).</summary>
internal readonly struct Lanes512(Vector512<float> value) : ILanes<Lanes512>
{
    private readonly Vector512<float> _value = value;

    public static nuint Count => (nuint)Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Create(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Load(ref float source, nuint index) => new(Vector512.LoadUnsafe(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes512 value, ref float destination, nuint index) => value._value.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator +(Lanes512 x, Lanes512 y) => new(x._value + y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 x, Lanes512 y) => new(x._value - y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator *(Lanes512 x, Lanes512 y) => new(x._value * y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator /(Lanes512 x, Lanes512 y) => new(x._value / y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Sqrt(Lanes512 x) => new(Vector512.Sqrt(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Abs(Lanes512 x) => new(Vector512.Abs(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Max(Lanes512 x, Lanes512 y) => new(Vector512.Max(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Min(Lanes512 x, Lanes512 y) => new(Vector512.Min(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 FlushBelow(Lanes512 x, Lanes512 limit, Lanes512 value) =>
        new(Vector512.ConditionalSelect(Vector512.LessThan(x._value, limit._value), Vector512<float>.Zero, value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 WherePositive(Lanes512 x, Lanes512 value) =>
        new(Vector512.ConditionalSelect(Vector512.GreaterThan(x._value, Vector512<float>.Zero), value._value, Vector512<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSquares(Lanes512 x, ref double sums)
    {
        var (lo, hi) = Vector512.Widen(x._value);
        Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref sums) + (lo * lo), ref sums);
        Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref sums, 8) + (hi * hi), ref sums, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 WhereNegative(Lanes512 x, Lanes512 ifNegative, Lanes512 otherwise) =>
        new(Vector512.ConditionalSelect(Vector512.LessThan(x._value, Vector512<float>.Zero), ifNegative._value, otherwise._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Sign(Lanes512 x) =>
        new(Vector512.ConditionalSelect(
            Vector512.GreaterThan(x._value, Vector512<float>.Zero),
            Vector512.Create(1f),
            Vector512.ConditionalSelect(Vector512.LessThan(x._value, Vector512<float>.Zero), Vector512.Create(-1f), x._value)));
}

/// <summary>256-bit lanes (AVX).</summary>
internal readonly struct Lanes256(Vector256<float> value) : ILanes<Lanes256>
{
    private readonly Vector256<float> _value = value;

    public static nuint Count => (nuint)Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Create(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Load(ref float source, nuint index) => new(Vector256.LoadUnsafe(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes256 value, ref float destination, nuint index) => value._value.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator +(Lanes256 x, Lanes256 y) => new(x._value + y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 x, Lanes256 y) => new(x._value - y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator *(Lanes256 x, Lanes256 y) => new(x._value * y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator /(Lanes256 x, Lanes256 y) => new(x._value / y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Sqrt(Lanes256 x) => new(Vector256.Sqrt(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Abs(Lanes256 x) => new(Vector256.Abs(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Max(Lanes256 x, Lanes256 y) => new(Vector256.Max(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Min(Lanes256 x, Lanes256 y) => new(Vector256.Min(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 FlushBelow(Lanes256 x, Lanes256 limit, Lanes256 value) =>
        new(Vector256.ConditionalSelect(Vector256.LessThan(x._value, limit._value), Vector256<float>.Zero, value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 WherePositive(Lanes256 x, Lanes256 value) =>
        new(Vector256.ConditionalSelect(Vector256.GreaterThan(x._value, Vector256<float>.Zero), value._value, Vector256<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSquares(Lanes256 x, ref double sums)
    {
        var (lo, hi) = Vector256.Widen(x._value);
        Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref sums) + (lo * lo), ref sums);
        Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref sums, 4) + (hi * hi), ref sums, 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 WhereNegative(Lanes256 x, Lanes256 ifNegative, Lanes256 otherwise) =>
        new(Vector256.ConditionalSelect(Vector256.LessThan(x._value, Vector256<float>.Zero), ifNegative._value, otherwise._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Sign(Lanes256 x) =>
        new(Vector256.ConditionalSelect(
            Vector256.GreaterThan(x._value, Vector256<float>.Zero),
            Vector256.Create(1f),
            Vector256.ConditionalSelect(Vector256.LessThan(x._value, Vector256<float>.Zero), Vector256.Create(-1f), x._value)));
}

/// <summary>128-bit lanes (SSE, or NEON on ARM64).</summary>
internal readonly struct Lanes128(Vector128<float> value) : ILanes<Lanes128>
{
    private readonly Vector128<float> _value = value;

    public static nuint Count => (nuint)Vector128<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Create(float value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Load(ref float source, nuint index) => new(Vector128.LoadUnsafe(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes128 value, ref float destination, nuint index) => value._value.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator +(Lanes128 x, Lanes128 y) => new(x._value + y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator -(Lanes128 x, Lanes128 y) => new(x._value - y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator *(Lanes128 x, Lanes128 y) => new(x._value * y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator /(Lanes128 x, Lanes128 y) => new(x._value / y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Sqrt(Lanes128 x) => new(Vector128.Sqrt(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Abs(Lanes128 x) => new(Vector128.Abs(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Max(Lanes128 x, Lanes128 y) => new(Vector128.Max(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Min(Lanes128 x, Lanes128 y) => new(Vector128.Min(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 FlushBelow(Lanes128 x, Lanes128 limit, Lanes128 value) =>
        new(Vector128.ConditionalSelect(Vector128.LessThan(x._value, limit._value), Vector128<float>.Zero, value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 WherePositive(Lanes128 x, Lanes128 value) =>
        new(Vector128.ConditionalSelect(Vector128.GreaterThan(x._value, Vector128<float>.Zero), value._value, Vector128<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSquares(Lanes128 x, ref double sums)
    {
        var (lo, hi) = Vector128.Widen(x._value);
        Vector128.StoreUnsafe(Vector128.LoadUnsafe(ref sums) + (lo * lo), ref sums);
        Vector128.StoreUnsafe(Vector128.LoadUnsafe(ref sums, 2) + (hi * hi), ref sums, 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 WhereNegative(Lanes128 x, Lanes128 ifNegative, Lanes128 otherwise) =>
        new(Vector128.ConditionalSelect(Vector128.LessThan(x._value, Vector128<float>.Zero), ifNegative._value, otherwise._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Sign(Lanes128 x) =>
        new(Vector128.ConditionalSelect(
            Vector128.GreaterThan(x._value, Vector128<float>.Zero),
            Vector128.Create(1f),
            Vector128.ConditionalSelect(Vector128.LessThan(x._value, Vector128<float>.Zero), Vector128.Create(-1f), x._value)));
}

/// <summary>One float: the scalar path, and the tail of every vector loop.</summary>
internal readonly struct Lane1(float value) : ILanes<Lane1>
{
    private readonly float _value = value;

    public static nuint Count => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Create(float value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Load(ref float source, nuint index) => new(Unsafe.Add(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lane1 value, ref float destination, nuint index) => Unsafe.Add(ref destination, index) = value._value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator +(Lane1 x, Lane1 y) => new(x._value + y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator -(Lane1 x, Lane1 y) => new(x._value - y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator *(Lane1 x, Lane1 y) => new(x._value * y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 operator /(Lane1 x, Lane1 y) => new(x._value / y._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Sqrt(Lane1 x) => new(MathF.Sqrt(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Abs(Lane1 x) => new(MathF.Abs(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Max(Lane1 x, Lane1 y) => new(MathF.Max(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Min(Lane1 x, Lane1 y) => new(MathF.Min(x._value, y._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 FlushBelow(Lane1 x, Lane1 limit, Lane1 value) => new(x._value < limit._value ? 0f : value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 WherePositive(Lane1 x, Lane1 value) => new(x._value > 0f ? value._value : 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddSquares(Lane1 x, ref double sums) => sums += (double)x._value * x._value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 WhereNegative(Lane1 x, Lane1 ifNegative, Lane1 otherwise) => new(x._value < 0f ? ifNegative._value : otherwise._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane1 Sign(Lane1 x) => new(x._value > 0f ? 1f : x._value < 0f ? -1f : x._value);
}
