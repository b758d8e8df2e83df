using System.Collections.ObjectModel;

namespace NeuralCore.Data;

/// <summary>
/// The contents of an IDX file (the format of the MNIST files): a data type, up to <see cref="IdxReader.MaxRank"/>
/// dimensions, and the elements in row-major order. Read one with <see cref="IdxReader"/>.
/// </summary>
/// <remarks>
/// Only the unsigned-byte type (<see cref="IdxReader.UnsignedByte"/>, code <c>0x08</c>) is supported, so
/// <see cref="Data"/> holds one byte per element: <c>Data.Length</c> is the product of <see cref="Dimensions"/>.
/// </remarks>
public sealed class IdxFile
{
    internal IdxFile(string name, byte dataType, int[] dimensions, byte[] data)
    {
        Name = name;
        DataType = dataType;
        Dimensions = new ReadOnlyCollection<int>(dimensions);
        Data = data;
    }

    /// <summary>The name of the file or stream it was read from, as used in error messages.</summary>
    public string Name { get; }

    /// <summary>The data type code (the header's third byte); always <see cref="IdxReader.UnsignedByte"/> (<c>0x08</c>).</summary>
    public byte DataType { get; }

    /// <summary>The number of dimensions (1 to <see cref="IdxReader.MaxRank"/>).</summary>
    public int Rank => Dimensions.Count;

    /// <summary>
    /// The header's first four bytes read as a big-endian integer: <c>DataType &lt;&lt; 8 | Rank</c>, e.g.
    /// <c>0x00000803</c> for MNIST images and <c>0x00000801</c> for MNIST labels.
    /// </summary>
    public int Magic => (DataType << 8) | Rank;

    /// <summary>The size of each dimension, outermost first (e.g. <c>[60000, 28, 28]</c>).</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>The elements, row-major, one byte each: <c>Length = Dimensions[0] × … × Dimensions[Rank - 1]</c>.</summary>
    public ReadOnlyMemory<byte> Data { get; }
}
