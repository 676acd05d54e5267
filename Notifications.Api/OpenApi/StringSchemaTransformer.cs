using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Notifications.Api.OpenApi;

/// <summary>
/// Types every string as <c>string</c> in the OpenAPI document, and a notification's <c>data</c> as an object. Strings are read through
/// <see cref="Hardening.NulFreeStringConverter"/>, and System.Text.Json's schema exporter describes a type with a custom
/// converter as <c>{}</c> (any value); lists of strings then lose their <c>items</c> as well.
/// </summary>
internal sealed class StringSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo;
        if (type.Type == typeof(string) && schema.Type is null)
        {
            // Only a property can be null; a parameter (query, path, header) is absent instead, as the framework has it.
            schema.Type = IsNullable(context.JsonPropertyInfo)
                ? JsonSchemaType.String | JsonSchemaType.Null
                : JsonSchemaType.String;
        }
        else if ((type.Type == typeof(JsonElement) || type.Type == typeof(JsonElement?)) && schema.Type is null)
        {
            // A notification's data, the only JsonElement the API reads or writes: a JSON object, or absent (null).
            schema.Type = JsonSchemaType.Object | JsonSchemaType.Null;
        }
        else if (type.Kind is JsonTypeInfoKind.Enumerable && type.ElementType == typeof(string) && schema.Items is null)
        {
            // The framework visits items only when the exporter wrote some; for an untyped element it wrote none.
            schema.Items = new OpenApiSchema { Type = JsonSchemaType.String };
        }

        return Task.CompletedTask;
    }

    /// <summary>The framework's own rule for a property's nullability (from its nullable annotations).</summary>
    private static bool IsNullable(JsonPropertyInfo? property) =>
        property is not null

        // A get-only property can report a nullable setter it does not have (dotnet/runtime#131602).
        && (property.IsGetNullable || (property.IsSetNullable && property.Set is not null));
}
