using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Notifications.Api.OpenApi;

/// <summary>
/// Finishes the responses that <see cref="ProblemResponses"/> declares: their descriptions (the generator writes only
/// the status's name), <c>Retry-After</c> on 429 and 503, and the responses in the order of their status codes.
/// </summary>
internal sealed class ProblemResponsesTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (operation.Responses is not { Count: > 0 } responses)
        {
            return Task.CompletedTask;
        }

        var descriptions = context.Description.ActionDescriptor.EndpointMetadata
            .OfType<IProducesResponseTypeMetadata>()
            .Where(m => m.Description is not null)
            .GroupBy(m => m.StatusCode.ToString(CultureInfo.InvariantCulture))
            .ToDictionary(g => g.Key, g => g.Last().Description!);
        var ordered = new OpenApiResponses();
        foreach (var (status, response) in responses.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            if (response is OpenApiResponse concrete)
            {
                if (descriptions.TryGetValue(status, out var description))
                {
                    concrete.Description = description;
                }

                if (status is "429" or "503")
                {
                    concrete.Headers ??= new Dictionary<string, IOpenApiHeader>();
                    concrete.Headers["Retry-After"] = new OpenApiHeader
                    {
                        Description = "Seconds to wait before trying again.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.Integer },
                    };
                }
            }

            ordered[status] = response;
        }

        operation.Responses = ordered;
        return Task.CompletedTask;
    }
}
