namespace NeuralCore.Data;

/// <summary>
/// Checks a path argument before System.IO sees it: Path.GetFullPath refuses an empty path or one holding a NUL
/// character in its own name, "(Parameter 'path')", which is not the parameter the caller passed.
/// </summary>
internal static class PathArgument
{
    /// <summary>Throws unless <paramref name="path"/> is a non-empty path without NUL characters.</summary>
    /// <param name="path">The argument.</param>
    /// <param name="name">The caller's parameter name.</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or holds a NUL character.</exception>
    public static void Require(string path, string name)
    {
        ArgumentNullException.ThrowIfNull(path, name);
        if (path.Length == 0)
        {
            throw new ArgumentException($"Expected a path. Received: {name}=\"\" (empty).", name);
        }

        int nul = path.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
        {
            throw new ArgumentException(
                $"Expected a path without NUL characters. Received: {name}=\"{path.Replace("\0", "\\0", StringComparison.Ordinal)}\" (a NUL at index {nul}).", name);
        }
    }

    /// <summary>The full path of <paramref name="path"/>, checked first (<see cref="Require"/>).</summary>
    /// <param name="path">The argument.</param>
    /// <param name="name">The caller's parameter name.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or holds a NUL character.</exception>
    public static string FullPath(string path, string name)
    {
        Require(path, name);
        return Path.GetFullPath(path);
    }
}
