// Field schemas shared by every route. Bounds here are the API contract (docs/architecture.md#chunk).
import { Type } from 'typebox'
import { PROVIDER_NAMES } from '../providers/vector-provider.ts'
import { PROVIDER_STATUSES } from '../routing/provider-states.ts'
import { READ_MODES } from '../routing/settings-store.ts'

export const MAX_ID = Number.MAX_SAFE_INTEGER
const GROUP_KEY_PATTERN = '^[A-Za-z0-9_:\\-]{1,64}$'

export const UserId = Type.Integer({
  minimum: 1,
  maximum: MAX_ID,
  description: 'Owner of the chunks; every operation is scoped to one user'
})
export const FileId = Type.Integer({
  minimum: 1,
  maximum: MAX_ID,
  description: "The application's file or message id (BRAG.BMID)"
})
export const GroupKey = Type.String({ pattern: GROUP_KEY_PATTERN, description: 'Letters, digits, _ : - (1..64)' })
export const ProviderName = Type.Enum(PROVIDER_NAMES)
export const ReadMode = Type.Enum(READ_MODES)
/** A provider as /health and the admin status see it. */
export const ProviderStatus = Type.Enum(PROVIDER_STATUSES)
export const Timestamp = Type.String({ format: 'date-time' })

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ description: 'Stable VG_ error code' }),
    error: Type.String(),
    message: Type.String({ description: 'What went wrong and what to do' }),
    request_id: Type.String({
      description:
        "This request's id (the X-Request-Id sent, or a generated one; also a response header and in the gateway log)"
    })
  },
  { $id: 'ErrorResponse' }
)

/** The error answers every data and admin route documents. */
export const ErrorReplies = { '4xx': Type.Ref('ErrorResponse'), '5xx': Type.Ref('ErrorResponse') }
