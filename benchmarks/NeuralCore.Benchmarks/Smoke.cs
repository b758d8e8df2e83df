using System.Diagnostics;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace NeuralCore.Benchmarks;

/// <summary>
/// <c>--smoke</c>: every benchmark once, in this process, at the first value of each parameter: its global setup, one
/// call, its cleanup. Seconds instead of BenchmarkDotNet's minutes, so CI runs it on every change; a benchmark that
/// throws (a broken setup, a shape the kernels refuse, outputs that disagree) fails the run with its name.
/// </summary>
internal static class Smoke
{
    public static int Run(TextWriter output)
    {
        int failures = 0, ran = 0;
        Type[] types = [.. typeof(Smoke).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            .OrderBy(t => t.Name, StringComparer.Ordinal)];
        foreach (Type type in types)
        {
            foreach (MethodInfo benchmark in type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            {
                string name = $"{type.Name}.{benchmark.Name}";
                long start = Stopwatch.GetTimestamp();
                object instance = Activator.CreateInstance(type)!;
                try
                {
                    string parameters = SetFirstParameters(instance);
                    Invoke<GlobalSetupAttribute>(instance);
                    try
                    {
                        benchmark.Invoke(instance, null);
                    }
                    finally
                    {
                        Invoke<GlobalCleanupAttribute>(instance);
                    }

                    ran++;
                    output.WriteLine($"smoke: {name} [{parameters}] ok ({Stopwatch.GetElapsedTime(start).TotalMilliseconds:0} ms)");
                }
                catch (TargetInvocationException ex)
                {
                    failures++;
                    output.WriteLine($"smoke: {name} FAILED: {ex.InnerException?.GetType().Name}: {ex.InnerException?.Message}");
                }
            }
        }

        output.WriteLine($"smoke: {ran} benchmark(s) ran, {failures} failed");
        return failures == 0 && ran > 0 ? 0 : 1;
    }

    private static string SetFirstParameters(object instance)
    {
        var set = new List<string>();
        foreach (PropertyInfo property in instance.GetType().GetProperties())
        {
            object? value = null;
            if (property.GetCustomAttribute<ParamsAttribute>() is { } values)
            {
                value = values.Values[0];
            }
            else if (property.GetCustomAttribute<ParamsSourceAttribute>() is { } source)
            {
                Type owner = source.Type ?? instance.GetType();
                MemberInfo member = owner.GetMember(source.Name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance)[0];
                object? target = member is MethodInfo { IsStatic: true } or PropertyInfo { GetMethod.IsStatic: true } or FieldInfo { IsStatic: true } ? null : instance;
                object? items = member switch
                {
                    MethodInfo method => method.Invoke(target, null),
                    PropertyInfo p => p.GetValue(target),
                    FieldInfo f => f.GetValue(target),
                    _ => null,
                };
                value = ((System.Collections.IEnumerable)items!).Cast<object>().First();
            }

            if (value is not null)
            {
                property.SetValue(instance, value is IConvertible && property.PropertyType.IsPrimitive ? Convert.ChangeType(value, property.PropertyType, System.Globalization.CultureInfo.InvariantCulture) : value);
                set.Add($"{property.Name}={value}");
            }
        }

        return string.Join(", ", set);
    }

    private static void Invoke<TAttribute>(object instance)
        where TAttribute : Attribute
    {
        foreach (MethodInfo method in instance.GetType().GetMethods().Where(m => m.GetCustomAttribute<TAttribute>() is not null))
        {
            method.Invoke(instance, null);
        }
    }
}
